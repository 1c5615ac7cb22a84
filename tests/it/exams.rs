//! Practice exams through the router against the fake API server: the attempt life cycle,
//! ownership, refusals after the deadline, grading errors with re-grading, and restarts.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use fake_apiserver::Fault;
use kubelab::Timer;
use kubelab::{ExamSnapshot, plan_exam};
use kubelab::{LearnerId, Store};
use serde_json::Value;

use crate::fake::*;
use crate::support::{Reply, TestApp, request};

const EXAM: &str = "pod-connectivity-one-cluster";

async fn post_json(app: &TestApp, path: &str, cookie: &str, body: &str) -> Reply {
    send_json(app, Method::POST, path, cookie, body).await
}

/// A request with a JSON body.
pub async fn send_json(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    body: &str,
) -> Reply {
    app.send(
        request(method, path)
            .header("cookie", cookie)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// Polls the attempt until it has left `preparing`.
pub async fn wait_running(app: &TestApp, cookie: &str, id: &Value) -> Value {
    for _ in 0..100 {
        let body = app
            .call(Method::GET, &format!("/api/v1/exam-attempts/{id}"), cookie)
            .await
            .json();
        if body["status"] != "preparing" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("attempt {id} stayed in preparing");
}

async fn wait_graded(app: &TestApp, cookie: &str, id: i64) -> Value {
    for _ in 0..200 {
        let reply = app
            .call(
                Method::GET,
                &format!("/api/v1/exam-attempts/{id}/report"),
                cookie,
            )
            .await;
        if reply.status == StatusCode::OK {
            return reply.json();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("attempt {id} was never graded");
}

fn task<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == id)
        .unwrap_or_else(|| panic!("no task {id} in {report:#}"))
}

/// `POST /api/v1/exam-attempts/{id}/{action}` as `cookie`.
async fn attempt_post(
    app: &TestApp,
    cookie: &str,
    id: &dyn std::fmt::Display,
    action: &str,
) -> Reply {
    app.call(
        Method::POST,
        &format!("/api/v1/exam-attempts/{id}/{action}"),
        cookie,
    )
    .await
}

/// Starts the one-cluster exam and waits for its clock: the attempt id.
pub(crate) async fn start_running(app: &TestApp, cookie: &str) -> Value {
    let id = post_json(app, &format!("/api/v1/exams/{EXAM}/attempts"), cookie, "{}")
        .await
        .json()["id"]
        .clone();
    wait_running(app, cookie, &id).await;
    id
}

/// The deploy-two-pods task, solved on the fake.
pub fn solve_deploy_two_pods(fake: &fake_apiserver::FakeCluster) {
    namespace_test(fake);
    running_nginx(fake, "pod1", "10.244.1.2");
    running_nginx(fake, "pod2", "10.244.1.3");
    pod1_reaches_pod2(fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sit_the_one_cluster_exam_through_the_api() {
    let env = env().await;
    nodes(&env.fake, true);
    flannel(&env.fake, 2);
    let app = &env.app;
    let cookie = app.learner().await;

    let started = post_json(
        app,
        &format!("/api/v1/exams/{EXAM}/attempts"),
        &cookie,
        "{}",
    )
    .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let started = started.json();
    assert!(
        ["preparing", "running"].contains(&started["status"].as_str().unwrap()),
        "{started:#}"
    );
    let id = started["id"].clone();
    let running = wait_running(app, &cookie, &id).await;
    assert_eq!(running["status"], "running", "{running:#}");
    let remaining = running["remaining_seconds"].as_i64().unwrap();
    assert!(
        (1180..=1200).contains(&remaining),
        "20 minutes: {remaining}"
    );
    for t in running["tasks"].as_array().unwrap() {
        assert_eq!(t["setup"], "ok", "{t:#}");
        assert_eq!(t["context"], "kind-kubelab");
    }
    assert!(
        env.fake
            .get("v1", "Pod", Some("multi"), "multi-container")
            .is_some(),
        "the port-conflict setup put the broken Pod on the cluster"
    );

    // Starting again joins the running attempt; a second tab sees the same clock.
    let again = post_json(
        app,
        &format!("/api/v1/exams/{EXAM}/attempts"),
        &cookie,
        "{}",
    )
    .await;
    assert_eq!(again.json()["id"], id);
    let tab = app
        .call(Method::GET, &format!("/api/v1/exam-attempts/{id}"), &cookie)
        .await
        .json();
    assert_eq!(tab["deadline_at"], running["deadline_at"]);

    // The exam view: the statement without hints or solutions, and the server's deadline.
    let view = app
        .get(
            &format!("/exams/attempts/{id}?task=deploy-two-pods"),
            Some(&cookie),
        )
        .await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(
        view.body
            .contains(&format!("data-deadline=\"{}\"", running["deadline_at"]))
    );
    assert!(
        view.body
            .contains("kubectl config use-context kind-kubelab")
    );
    assert!(!view.body.contains("Hint 1"), "no hints during an exam");
    assert!(
        !view.body.contains("Show the solution"),
        "no solutions during an exam"
    );
    assert!(
        !view.body.contains("Check my work"),
        "no checks during an exam"
    );

    let flagged = send_json(
        app,
        Method::PUT,
        &format!("/api/v1/exam-attempts/{id}/tasks/fix-port-conflict/flag"),
        &cookie,
        r#"{"flagged": true}"#,
    )
    .await;
    assert_eq!(flagged.status, StatusCode::OK, "{}", flagged.body);
    let state = app
        .call(Method::GET, &format!("/api/v1/exam-attempts/{id}"), &cookie)
        .await
        .json();
    assert_eq!(state["tasks"][2]["flagged"], true);

    // Nobody else sees the attempt.
    let other = app.learner().await;
    for path in [
        format!("/api/v1/exam-attempts/{id}"),
        format!("/api/v1/exam-attempts/{id}/report"),
        format!("/exams/attempts/{id}"),
        format!("/exams/attempts/{id}/report"),
    ] {
        assert_eq!(
            app.call(Method::GET, &path, &other).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        attempt_post(app, &other, &id, "submit").await.status,
        StatusCode::NOT_FOUND
    );
    let early = app
        .call(
            Method::GET,
            &format!("/api/v1/exam-attempts/{id}/report"),
            &cookie,
        )
        .await;
    assert_eq!(
        early.status,
        StatusCode::CONFLICT,
        "no report before grading"
    );

    solve_deploy_two_pods(&env.fake);
    let submitted = attempt_post(app, &cookie, &id, "submit").await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(
        submitted.json()["status"],
        "graded",
        "submit returns once graded"
    );

    let report = app
        .call(
            Method::GET,
            &format!("/api/v1/exam-attempts/{id}/report"),
            &cookie,
        )
        .await
        .json();
    let deploy = task(&report, "deploy-two-pods");
    assert_eq!(
        (deploy["score"].as_u64(), deploy["max_score"].as_u64()),
        (Some(11), Some(11))
    );
    let ports = task(&report, "fix-port-conflict");
    let ports_score = ports["score"].as_u64().unwrap();
    let ports_max = ports["max_score"].as_u64().unwrap();
    assert!(ports_score < ports_max, "{ports:#}");
    assert_eq!(ports["flagged"], true);
    for c in ports["criteria"].as_array().unwrap() {
        for key in ["id", "description", "points", "status", "evidence"] {
            assert!(!c[key].is_null(), "criterion without {key}: {c:#}");
        }
    }
    // The cross-node task was not attempted: no points of its 8.
    let across = task(&report, "pods-across-nodes");
    assert_eq!(
        (across["score"].as_u64(), across["max_score"].as_u64()),
        (Some(0), Some(8))
    );
    assert_eq!(report["score"].as_u64().unwrap(), 11 + ports_score);
    assert_eq!(report["max_score"].as_u64().unwrap(), 11 + 8 + ports_max);
    let passed = (11 + ports_score) * 100 >= 66 * (11 + 8 + ports_max);
    assert_eq!(report["passed"], passed);
    assert_eq!(report["graded_late"], false);
    assert!(report["submitted_at"].is_i64());

    // After grading, nothing more is accepted.
    let late_flag = send_json(
        app,
        Method::PUT,
        &format!("/api/v1/exam-attempts/{id}/tasks/deploy-two-pods/flag"),
        &cookie,
        r#"{"flagged": true}"#,
    )
    .await;
    assert_eq!(late_flag.status, StatusCode::CONFLICT);

    let page = app
        .get(&format!("/exams/attempts/{id}/report"), Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!(
            "{} / {} points",
            report["score"], report["max_score"]
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("Solutions"));
    let task_page = app.get("/tasks/deploy-two-pods", Some(&cookie)).await.body;
    assert!(
        task_page.contains("Show the solution"),
        "open again once graded"
    );
    let start = app.get(&format!("/exams/{EXAM}"), Some(&cookie)).await.body;
    assert!(start.contains("Weakest tasks"), "{start}");
    assert!(start.contains(&format!("/exams/attempts/{id}/report")));
}

#[tokio::test]
async fn the_full_exam_needs_separate_clusters_and_says_so() {
    let env = env().await;
    let cookie = env.app.learner().await;
    let reply = post_json(
        &env.app,
        "/api/v1/exams/pod-connectivity/attempts",
        &cookie,
        "{}",
    )
    .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("both claim the CNI on context `kind-kubelab`"),
        "{message}"
    );
    let unknown = post_json(
        &env.app,
        "/api/v1/exams/pod-connectivity-one-cluster/attempts",
        &cookie,
        r#"{"contexts": {"kind-kubelab": "prod"}}"#,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::CONFLICT);
    assert!(unknown.body.contains("not available on this server"));
    let bad = post_json(&env.app, "/api/v1/exams/nope/attempts", &cookie, "{}").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    let typo = post_json(
        &env.app,
        "/api/v1/exams/pod-connectivity-one-cluster/attempts",
        &cookie,
        r#"{"context": {}}"#,
    )
    .await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST, "{}", typo.body);
    let page = env.app.get("/exams/pod-connectivity", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("kind-kubelab-bare"));
    assert!(page.body.contains("Start the exam"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_setup_does_not_block_the_exam_and_can_be_retried() {
    let env = env().await;
    nodes(&env.fake, true);
    // Server-side apply of the port-conflict Pod fails; everything else works.
    env.fake.inject(Fault::Status {
        path_contains: "/pods/multi-container".to_string(),
        method: Some("PATCH".to_string()),
        status: 500,
        times: None,
    });
    let cookie = env.app.learner().await;
    let started = post_json(
        &env.app,
        &format!("/api/v1/exams/{EXAM}/attempts"),
        &cookie,
        "{}",
    )
    .await
    .json();
    let id = started["id"].clone();
    let running = wait_running(&env.app, &cookie, &id).await;
    assert_eq!(running["status"], "running");
    assert_eq!(running["tasks"][0]["setup"], "ok");
    assert_eq!(running["tasks"][1]["setup"], "ok");
    assert_eq!(running["tasks"][2]["setup"], "failed", "{running:#}");
    let view = env
        .app
        .get(
            &format!("/exams/attempts/{id}?task=fix-port-conflict"),
            Some(&cookie),
        )
        .await
        .body;
    assert!(view.contains("Setting up this task failed"), "{view}");
    assert!(view.contains("Retry the setup"));

    env.fake.clear_faults();
    let retried = attempt_post(&env.app, &cookie, &id, "tasks/fix-port-conflict/setup").await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert_eq!(retried.json()["tasks"][2]["setup"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_at_the_deadline_leaves_the_attempt_incomplete() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let id = start_running(&env.app, &cookie).await;
    env.fake.inject(Fault::status("/", 503));
    let graded = attempt_post(&env.app, &cookie, &id, "submit").await;
    assert_eq!(graded.status, StatusCode::OK, "{}", graded.body);
    let report = wait_graded(&env.app, &cookie, id.as_i64().unwrap()).await;
    let deploy = task(&report, "deploy-two-pods");
    for c in deploy["criteria"].as_array().unwrap() {
        assert_eq!(c["status"], "error", "{c:#}");
        assert!(!c["evidence"]["reasons"].as_array().unwrap().is_empty());
    }
    assert_eq!(report["complete"], false, "{report:#}");
    assert_eq!(report["passed"], false);
    let reason = report["incomplete_reason"].as_str().unwrap();
    assert!(
        reason.contains("could not be judged when the exam ended"),
        "{reason}"
    );
    let page = env
        .app
        .get(&format!("/exams/attempts/{id}/report"), Some(&cookie))
        .await
        .body;
    assert!(page.contains("Incomplete."), "{page}");
    assert!(!page.contains("Re-grade"));
    let start = env
        .app
        .get(&format!("/exams/{EXAM}"), Some(&cookie))
        .await
        .body;
    assert!(start.contains("incomplete"), "the history says so: {start}");

    // Everything is fixed after the deadline, at leisure: a re-grade cannot count it.
    env.fake.clear_faults();
    solve_deploy_two_pods(&env.fake);
    let regraded = attempt_post(&env.app, &cookie, &id, "regrade").await;
    assert_eq!(regraded.status, StatusCode::CONFLICT, "{}", regraded.body);
    assert!(
        regraded.body.contains("start a new attempt"),
        "{}",
        regraded.body
    );
    let after = env
        .app
        .call(
            Method::GET,
            &format!("/api/v1/exam-attempts/{id}/report"),
            &cookie,
        )
        .await
        .json();
    assert_eq!(after["score"], report["score"]);
    assert_eq!(task(&after, "deploy-two-pods")["score"], 0);
    assert_eq!(after["complete"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn criteria_judged_at_the_end_stand_and_the_rest_stays_unjudged() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let id = start_running(&env.app, &cookie).await;
    solve_deploy_two_pods(&env.fake);
    // Exec fails at the end: only the connectivity criterion cannot be judged.
    env.fake.inject(Fault::status("/exec", 503));
    attempt_post(&env.app, &cookie, &id, "submit").await;
    let report = wait_graded(&env.app, &cookie, id.as_i64().unwrap()).await;
    let deploy = task(&report, "deploy-two-pods");
    let error: Vec<&str> = deploy["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "error")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(error, ["pod1-reaches-pod2"], "{deploy:#}");
    assert_eq!(deploy["score"].as_u64().unwrap(), 11 - 3, "{deploy:#}");
    assert_eq!(report["complete"], false);
    assert!(
        report["incomplete_reason"]
            .as_str()
            .unwrap()
            .starts_with("1 criterion(s) could not be judged"),
        "{report:#}"
    );
    env.fake.clear_faults();
    let refused = attempt_post(&env.app, &cookie, &id, "regrade").await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
}

/// The one-cluster exam frozen on context kind-kubelab.
fn one_cluster_snapshot(app: &TestApp) -> ExamSnapshot {
    let catalogue = app.state.service.catalogue();
    let exam = catalogue.exam(EXAM).unwrap();
    let placements = plan_exam(
        exam,
        |id| catalogue.task(id),
        &BTreeMap::new(),
        &["kind-kubelab".to_string()],
        None,
    )
    .unwrap();
    ExamSnapshot::freeze(catalogue, exam, &placements)
}

/// An attempt written as a server killed mid-exam leaves it: running, with this timer.
async fn running_attempt(app: &TestApp, cookie: &str, timer: Timer) -> i64 {
    let learner = LearnerId::parse(cookie.trim_start_matches("kubelab_learner=")).unwrap();
    let catalogue = app.state.service.catalogue();
    let snapshot = one_cluster_snapshot(app);
    let (id, _) = app
        .store
        .create_exam_attempt(&learner, &snapshot, &catalogue.digest, timer.started_at)
        .await
        .unwrap();
    assert!(app.store.start_exam_clock(id, timer).await.unwrap());
    id
}

/// A held attempt (a class exam) starts only with the class's one start, even when its own
/// preparation finishes at the same moment: one of the two starts wins, never both.
#[tokio::test]
async fn a_held_clock_starts_only_with_the_class() {
    let env = env().await;
    let cookie = env.app.learner().await;
    let learner = LearnerId::parse(cookie.trim_start_matches("kubelab_learner=")).unwrap();
    let catalogue = env.app.state.service.catalogue();
    let snapshot = one_cluster_snapshot(&env.app);
    let store = &env.app.store;
    let t = kubelab::Clock::system().now();
    let (id, _) = store
        .create_exam_attempt(&learner, &snapshot, &catalogue.digest, t)
        .await
        .unwrap();
    store.hold_exam(id).await.unwrap();
    let own = Timer::start(t, 12);
    let class = Timer::start(t + 5, 12);
    assert!(
        !store.start_exam_clock(id, own).await.unwrap(),
        "the preparation does not start a held clock"
    );
    assert!(store.start_held_exam_clock(id, class).await.unwrap());
    assert!(!store.start_held_exam_clock(id, class).await.unwrap());
    assert!(!store.start_exam_clock(id, own).await.unwrap());
    let attempt = store.exam_attempt(id).await.unwrap().unwrap();
    assert_eq!(attempt.timer.unwrap().deadline_at, class.deadline_at);
}

/// The app again on the same database, recovered as `kubelab serve` does at start.
async fn restart(env: Env) -> (Env, TestApp) {
    let Env {
        fake,
        server,
        kubeconfig,
        app,
    } = env;
    let dir = app.dir;
    let clusters = kubelab::Clusters::new(
        kubelab::KubeconfigSource::file(kubeconfig.clone()),
        None,
        kubelab::AllowedContexts::All,
    );
    let store = Store::open(&dir.path().join("kubelab.db")).await.unwrap();
    let catalogue = kubelab::load_content(&kubelab::ContentFiles::embedded()).unwrap();
    let state = kubelab::AppState::new(
        catalogue,
        store.clone(),
        kubelab::AllowedHosts::loopback_and(Vec::new()),
        clusters,
    );
    state.service.recover_exams().await;
    let again = TestApp {
        router: kubelab::app(state.clone()),
        state,
        store,
        dir,
    };
    let placeholder = crate::support::test_app().await;
    (
        Env {
            fake,
            server,
            kubeconfig,
            app: placeholder,
        },
        again,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_clock_and_grades_what_expired_late() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let t = kubelab::Clock::system().now();
    // One attempt still running, one whose deadline passed while the server was down.
    let live = running_attempt(&env.app, &cookie, Timer::start(t - 60, 12)).await;
    let other = env.app.learner().await;
    let expired = running_attempt(&env.app, &other, Timer::start(t - 15 * 60, 12)).await;
    solve_deploy_two_pods(&env.fake);

    let (_env, app) = restart(env).await;
    let state = app
        .call(
            Method::GET,
            &format!("/api/v1/exam-attempts/{live}"),
            &cookie,
        )
        .await
        .json();
    assert_eq!(state["status"], "running");
    assert_eq!(state["deadline_at"], t - 60 + 12 * 60, "the same deadline");
    let remaining = state["remaining_seconds"].as_i64().unwrap();
    assert!((640..=660).contains(&remaining), "{remaining}");

    let report = wait_graded(&app, &other, expired).await;
    assert_eq!(report["graded_late"], true, "{report:#}");
    assert!(
        report["late_reason"]
            .as_str()
            .unwrap()
            .contains("the server was not running at the deadline"),
        "{report:#}"
    );
    assert_eq!(
        report["ended_at"],
        t - 15 * 60 + 12 * 60,
        "work ended at the deadline"
    );
    assert_eq!(task(&report, "deploy-two-pods")["score"], 11);
    let page = app
        .get(&format!("/exams/attempts/{expired}/report"), Some(&other))
        .await
        .body;
    assert!(page.contains("graded late"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_deadline_the_client_cannot_act() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let t = kubelab::Clock::system().now();
    let id = running_attempt(&env.app, &cookie, Timer::start(t - 13 * 60, 12)).await;
    // No scheduler runs for this attempt: only the server's clock says it is over.
    let flag = send_json(
        &env.app,
        Method::PUT,
        &format!("/api/v1/exam-attempts/{id}/tasks/deploy-two-pods/flag"),
        &cookie,
        r#"{"flagged": true}"#,
    )
    .await;
    assert_eq!(flag.status, StatusCode::CONFLICT, "{}", flag.body);
    assert!(flag.body.contains("the exam has ended"));
    let setup = attempt_post(&env.app, &cookie, &id, "tasks/deploy-two-pods/setup").await;
    assert_eq!(setup.status, StatusCode::CONFLICT);
    // A late submit is graded as of the deadline, not as an early submission.
    let submit = attempt_post(&env.app, &cookie, &id, "submit").await;
    assert_eq!(submit.status, StatusCode::OK, "{}", submit.body);
    let report = wait_graded(&env.app, &cookie, id).await;
    assert!(report["submitted_at"].is_null(), "{report:#}");
    assert_eq!(report["ended_at"], t - 13 * 60 + 12 * 60);
    let view = env
        .app
        .get(&format!("/exams/attempts/{id}"), Some(&cookie))
        .await;
    assert_eq!(view.status, StatusCode::SEE_OTHER);
    assert_eq!(
        view.headers["location"],
        format!("/exams/attempts/{id}/report")
    );
}

/// One HTTP/1.1 exchange with a real server: (status, set-cookie, body).
pub(crate) async fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> Option<(u16, Option<String>, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{cookie}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let set_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .map(|v| v.split(';').next().unwrap_or("").to_string());
    Some((status, set_cookie, body.to_string()))
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves no server behind.
pub(crate) struct Killed(pub(crate) std::process::Child);

impl Killed {
    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `kubelab serve` as a real process on `addr`, ready when it returns.
async fn serve_binary(addr: &str, db: &std::path::Path, kubeconfig: &std::path::Path) -> Killed {
    let child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .args(["serve", "--addr", addr, "--db"])
            .arg(db)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_healthy(addr).await;
    child
}

/// Waits until a `kubelab serve` on `addr` answers `/healthz` (at most 10 s).
pub(crate) async fn wait_healthy(addr: &str) {
    for _ in 0..200 {
        if let Some((200, _, _)) = http(addr, "GET", "/healthz", None, "").await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("kubelab serve did not come up on {addr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_an_exam_loses_nothing() {
    let env = env().await;
    nodes(&env.fake, true);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let db = env.app.dir.path().join("served.db");
    let mut server = serve_binary(&addr, &db, &env.kubeconfig).await;

    let (_, cookie, _) = http(&addr, "GET", "/", None, "").await.unwrap();
    let cookie = cookie.expect("a learner cookie");
    let (status, _, body) = http(
        &addr,
        "POST",
        &format!("/api/v1/exams/{EXAM}/attempts"),
        Some(&cookie),
        "{}",
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"].clone();
    let mut before = Value::Null;
    for _ in 0..100 {
        let (_, _, body) = http(
            &addr,
            "GET",
            &format!("/api/v1/exam-attempts/{id}"),
            Some(&cookie),
            "",
        )
        .await
        .unwrap();
        before = serde_json::from_str(&body).unwrap();
        if before["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(before["status"], "running", "{before:#}");

    server.kill(); // SIGKILL: no shutdown, no flush.
    let _server = serve_binary(&addr, &db, &env.kubeconfig).await;
    let (status, _, body) = http(
        &addr,
        "GET",
        &format!("/api/v1/exam-attempts/{id}"),
        Some(&cookie),
        "",
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let after: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(after["status"], "running");
    assert_eq!(
        after["deadline_at"], before["deadline_at"],
        "the same deadline"
    );
    let expected = after["deadline_at"].as_i64().unwrap() - kubelab::Clock::system().now();
    let remaining = after["remaining_seconds"].as_i64().unwrap();
    assert!(
        (expected..=expected + 1).contains(&remaining),
        "remaining time counts from the stored deadline: {remaining} vs {expected}"
    );
    assert_eq!(after["tasks"], before["tasks"]);
}

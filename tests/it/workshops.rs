//! Workshops: the instructor signs in with a secret, creates a workshop on a folder of
//! kubeconfigs, learners join with the code and each works on a cluster of their own; the
//! roster shows who is where. Learners never see instructor pages or each other's clusters.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use fake_apiserver::{FakeCluster, Server};
use serde_json::Value;

use crate::exams::solve_deploy_two_pods;
use crate::fake::nodes;
use crate::support::{Reply, TestApp, app_on, request};

pub(crate) const SECRET: &str = "a-long-instructor-secret-0123456789";

pub(crate) async fn app_with(gate: kubelab::InstructorGate) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = kubelab::Store::open(&dir.path().join("kubelab.db"))
        .await
        .unwrap();
    let app = app_on(store, dir);
    let state = app.state.clone();
    drop(app.router);
    drop(app.state);
    let state = state.with_instructor(gate);
    TestApp {
        router: kubelab::app(state.clone()),
        state,
        store: app.store,
        dir: app.dir,
    }
}

pub(crate) async fn sign_in(app: &TestApp, token: &str) -> Reply {
    app.get(&format!("/instructor/sign-in?token={token}"), None)
        .await
}

pub(crate) fn instructor_cookie(reply: &Reply) -> String {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kubelab_instructor="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("the sign-in sets the instructor cookie")
}

use crate::exams::send_json as json;

#[tokio::test]
async fn instructor_pages_exist_only_for_a_signed_in_instructor() {
    let app = app_with(kubelab::InstructorGate::one_time(SECRET.into())).await;
    let learner = app.learner().await;
    for path in [
        "/instructor",
        "/instructor/workshops/1",
        "/api/v1/workshops",
        "/api/v1/workshops/1",
    ] {
        assert_eq!(
            app.get(path, Some(&learner)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(sign_in(&app, "wrong").await.status, StatusCode::NOT_FOUND);
    let signed = sign_in(&app, SECRET).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let cookie = instructor_cookie(&signed);
    let set = signed.headers["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert_eq!(
        app.get("/instructor", Some(&cookie)).await.status,
        StatusCode::OK
    );
    // The printed link works once.
    assert_eq!(sign_in(&app, SECRET).await.status, StatusCode::NOT_FOUND);
    // A forged cookie, and the real one after signing out, are refused.
    let forged = "kubelab_instructor=00112233445566778899aabbccddeeff0011223344556677";
    assert_eq!(
        app.get("/instructor", Some(forged)).await.status,
        StatusCode::NOT_FOUND
    );
    let out = app
        .call(Method::POST, "/instructor/sign-out", &cookie)
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/instructor", Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );
}

struct Class {
    fakes: Vec<(FakeCluster, Server)>,
    dir: tempfile::TempDir,
}

/// Three learner clusters (fake API servers), one kubeconfig file each; every file names
/// its context kind-kubelab, as kind's would.
async fn class() -> Class {
    let dir = tempfile::tempdir().unwrap();
    let mut fakes = Vec::new();
    for n in 1..=3 {
        let fake = FakeCluster::new();
        nodes(&fake, true);
        let server = fake.start().await.unwrap();
        std::fs::write(
            dir.path().join(format!("learner-{n}.yaml")),
            fake.kubeconfig(&server, "kind-kubelab"),
        )
        .unwrap();
        fakes.push((fake, server));
    }
    Class { fakes, dir }
}

fn cell<'a>(roster: &'a Value, learner: &str, task: &str) -> &'a Value {
    roster["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["display_name"] == learner)
        .unwrap_or_else(|| panic!("{learner} not on the roster: {roster:#}"))["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["task"] == task)
        .unwrap()
}

/// A workshop on the class's kubeconfigs, created by the instructor: (id, join code).
async fn workshop(app: &TestApp, instructor: &str, class: &Class, title: &str) -> (i64, String) {
    let body = serde_json::json!({"title": title, "lesson": "pod-connectivity",
        "provider": {"kind": "kubeconfigs", "dir": class.dir.path()}})
    .to_string();
    let created = json(app, Method::POST, "/api/v1/workshops", instructor, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = created.json();
    (
        created["id"].as_i64().unwrap(),
        created["code"].as_str().unwrap().to_string(),
    )
}

/// A new learner who joins with `code` as `name`; their cookie.
async fn join_as(app: &TestApp, code: &str, name: &str) -> String {
    let cookie = app.learner().await;
    let join = serde_json::json!({"code": code, "display_name": name}).to_string();
    let joined = json(app, Method::POST, "/api/v1/join", &cookie, &join).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    cookie
}

/// Starts the one-cluster exam for the workshop's class: one line per learner.
async fn start_class_exam(app: &TestApp, instructor: &str, id: i64) -> Value {
    let started = json(
        app,
        Method::POST,
        &format!("/api/v1/workshops/{id}/exams"),
        instructor,
        r#"{"exam": "pod-connectivity-one-cluster"}"#,
    )
    .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    started.json()
}

/// Starts every waiting clock of the class's one-cluster exam.
async fn start_class_clock(app: &TestApp, instructor: &str, id: i64) -> Reply {
    app.call(
        Method::POST,
        &format!("/api/v1/workshops/{id}/exams/pod-connectivity-one-cluster/start"),
        instructor,
    )
    .await
}

/// An open Server-Sent Events stream.
async fn open_stream(app: &TestApp, path: &str, cookie: &str) -> Body {
    use tower::ServiceExt;
    let response = app
        .router
        .clone()
        .oneshot(
            request(Method::GET, path)
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body()
}

/// Reads a stream until `needle` and the end of its event arrived (at most 10 s).
async fn read_until(body: &mut Body, needle: &str) -> String {
    use http_body_util::BodyExt;
    let mut seen = String::new();
    while !(seen.contains(needle) && seen.ends_with("\n\n")) {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .unwrap_or_else(|_| panic!("no {needle} within 10 s: {seen}"))
            .unwrap()
            .unwrap();
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    seen
}

/// Waits until an exam attempt runs; its state.
async fn wait_running(app: &TestApp, attempt: i64, cookie: &str) -> Value {
    let mut state = Value::Null;
    for _ in 0..100 {
        state = app
            .call(
                Method::GET,
                &format!("/api/v1/exam-attempts/{attempt}"),
                cookie,
            )
            .await
            .json();
        if state["status"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_joins_and_each_learner_works_on_their_own_cluster() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let body = serde_json::json!({
        "title": "Pod networking, Tuesday",
        "lesson": "pod-connectivity",
        "tasks": ["deploy-two-pods", "fix-port-conflict"],
        "provider": {"kind": "kubeconfigs", "dir": class.dir.path()},
    })
    .to_string();
    let created = json(&app, Method::POST, "/api/v1/workshops", &instructor, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = created.json();
    let code = created["code"].as_str().unwrap().to_string();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(code.len(), 6);
    assert!(
        created["join_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/join/{code}"))
    );

    // A learner cannot create one, nor read the roster.
    let ada = app.learner().await;
    assert_eq!(
        json(&app, Method::POST, "/api/v1/workshops", &ada, &body)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let mut learners = Vec::new();
    for name in ["Ada", "Brian", "Chen", "Dana"] {
        let cookie = if name == "Ada" {
            ada.clone()
        } else {
            app.learner().await
        };
        let join =
            serde_json::json!({"code": code.to_lowercase(), "display_name": name}).to_string();
        let joined = json(&app, Method::POST, "/api/v1/join", &cookie, &join).await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
        learners.push((name, cookie, joined.json()));
    }
    let clusters: Vec<&Value> = learners.iter().map(|(_, _, j)| &j["cluster"]).collect();
    assert_eq!(clusters[0], "learner-1.yaml");
    assert_eq!(clusters[1], "learner-2.yaml");
    assert_eq!(clusters[2], "learner-3.yaml");
    assert_eq!(
        learners[3].2["status"], "waiting",
        "three clusters for four learners"
    );
    let wrong = json(
        &app,
        Method::POST,
        "/api/v1/join",
        &ada,
        r#"{"code": "ZZZZZZ", "display_name": "Ada"}"#,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);

    // Ada solves the task on her cluster; Brian's check runs on his, which is untouched.
    solve_deploy_two_pods(&class.fakes[0].0);
    let ada_check = app
        .call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &ada)
        .await
        .json();
    assert_eq!(ada_check["passed"], true, "{ada_check:#}");
    class.fakes[0].0.clear_requests();
    let brian = &learners[1].1;
    let brian_check = app
        .call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", brian)
        .await
        .json();
    assert_eq!(brian_check["passed"], false);
    assert!(
        class.fakes[0].0.requests().is_empty(),
        "Brian's check never touches Ada's cluster"
    );
    assert!(
        !class.fakes[1].0.requests().is_empty(),
        "Brian's check runs on his cluster"
    );
    // Dana waits: her check says so instead of using someone else's cluster.
    let dana = app
        .call(
            Method::POST,
            "/api/v1/tasks/deploy-two-pods/check",
            &learners[3].1,
        )
        .await
        .json();
    assert!(
        dana.to_string().contains("you wait for a free one"),
        "{dana:#}"
    );
    // Members cannot switch to another context, nor sit an exam that needs more clusters.
    let exam = json(
        &app,
        Method::POST,
        "/api/v1/exams/pod-connectivity/attempts",
        &ada,
        "{}",
    )
    .await;
    // A member's exam runs on their one cluster: an exam needing three is refused.
    assert_eq!(exam.status, StatusCode::BAD_REQUEST, "{}", exam.body);
    assert!(exam.body.contains("needs 3 clusters"), "{}", exam.body);
    let switch = json(
        &app,
        Method::PUT,
        "/api/v1/cluster/context",
        &ada,
        r#"{"context": "kind-kubelab"}"#,
    )
    .await;
    assert!(switch.status.is_client_error(), "{}", switch.body);

    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), &instructor)
        .await
        .json();
    assert_eq!(roster["code"], code.as_str());
    assert_eq!(cell(&roster, "Ada", "deploy-two-pods")["status"], "passed");
    assert_eq!(
        cell(&roster, "Brian", "deploy-two-pods")["status"],
        "failed"
    );
    assert_eq!(
        cell(&roster, "Chen", "deploy-two-pods")["status"],
        "not-started"
    );
    assert_eq!(
        cell(&roster, "Ada", "fix-port-conflict")["status"],
        "not-started"
    );
    let dana_row = roster["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["display_name"] == "Dana")
        .unwrap();
    assert_eq!(dana_row["cluster"]["state"], "waiting");
    let page = app
        .get(&format!("/instructor/workshops/{id}"), Some(&instructor))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("learner-2.yaml") && page.body.contains(&code),
        "{}",
        page.body
    );
    assert!(
        app.get(&format!("/instructor/workshops/{id}"), Some(&ada))
            .await
            .status
            == StatusCode::NOT_FOUND
    );

    // The join page and form work without JavaScript.
    let form = app.get(&format!("/join/{code}"), Some(&ada)).await;
    assert!(
        form.body.contains(&format!("value=\"{code}\"")),
        "{}",
        form.body
    );
}

#[tokio::test]
async fn a_workshop_needs_a_real_lesson_tasks_and_kubeconfigs() {
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let empty = tempfile::tempdir().unwrap();
    let bad_file = tempfile::tempdir().unwrap();
    std::fs::write(bad_file.path().join("x.yaml"), "not: a kubeconfig").unwrap();
    for (body, wanted) in [
        (
            serde_json::json!({"title": "T", "lesson": "nope", "provider": {"kind": "kubeconfigs", "dir": empty.path()}}),
            "no lesson",
        ),
        (
            serde_json::json!({"title": "T", "lesson": "pod-connectivity", "tasks": ["nope"], "provider": {"kind": "kubeconfigs", "dir": empty.path()}}),
            "not in lesson",
        ),
        (
            serde_json::json!({"title": "T", "lesson": "pod-connectivity", "provider": {"kind": "kubeconfigs", "dir": empty.path()}}),
            "holds no files",
        ),
        (
            serde_json::json!({"title": "T", "lesson": "pod-connectivity", "provider": {"kind": "kubeconfigs", "dir": bad_file.path()}}),
            "x.yaml",
        ),
        (
            serde_json::json!({"title": "T", "lesson": "pod-connectivity", "provider": {"kind": "kind", "parallel": 0}}),
            "parallel (boots at once) is 1 to 20",
        ),
        (
            serde_json::json!({"title": "T", "lesson": "pod-connectivity", "provider": {"kind": "kind", "wram": 2}}),
            "unknown field",
        ),
        (
            serde_json::json!({"title": "T", "lesson": "pod-connectivity", "provider": {"kind": "docker"}}),
            "unknown variant",
        ),
    ] {
        let reply = json(
            &app,
            Method::POST,
            "/api/v1/workshops",
            &instructor,
            &body.to_string(),
        )
        .await;
        assert!(reply.status.is_client_error(), "{body}: {}", reply.body);
        assert!(
            reply.body.to_lowercase().contains(&wanted.to_lowercase()),
            "{body}: {}",
            reply.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workshops_from_the_command_line() {
    let class = class().await;
    let db = tempfile::tempdir().unwrap();
    let db = db.path().join("k.db");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .arg("workshop")
            .args(args)
            .arg("--db")
            .arg(&db)
            .env_remove("KUBELAB_CONTENT")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = class.dir.path().to_str().unwrap().to_string();
    let (code, out, err) = tokio::task::block_in_place(|| {
        run(&[
            "create",
            "--title",
            "Friday class",
            "--kubeconfigs",
            &dir,
            "--json",
        ])
    });
    assert_eq!(code, Some(0), "{out}{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["title"], "Friday class");
    let join_code = created["code"].as_str().unwrap().to_string();
    let (code, out, _) = tokio::task::block_in_place(|| run(&["list"]));
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&join_code) && out.contains("Friday class"),
        "{out}"
    );
    let id = created["id"].to_string();
    let (code, _, _) = tokio::task::block_in_place(|| run(&["delete", &id]));
    assert_eq!(code, Some(0));
    let (code, _, err) = tokio::task::block_in_place(|| run(&["delete", &id]));
    assert_eq!(code, Some(1));
    assert!(err.contains("workshop"), "{err}");
    let (code, _, err) = tokio::task::block_in_place(|| {
        run(&[
            "create",
            "--title",
            "x",
            "--kubeconfigs",
            "/nonexistent/kubelab",
        ])
    });
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot read the kubeconfig folder"), "{err}");
}

/// The roster follows a learner's verdict live (SSE), without a reload or polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_cell_changes_live_when_a_learner_solves_a_task() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Live").await;
    let ada = join_as(&app, &code, "Ada").await;

    let mut body = open_stream(
        &app,
        &format!("/instructor/workshops/{id}/live"),
        &instructor,
    )
    .await;
    solve_deploy_two_pods(&class.fakes[0].0);
    let started = std::time::Instant::now();
    let check = app
        .call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &ada)
        .await
        .json();
    assert_eq!(check["passed"], true);
    let seen = read_until(&mut body, "event: cell").await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        seen.contains("\"status\":\"passed\"") && seen.contains("deploy-two-pods"),
        "{seen}"
    );
    let page = app
        .get(&format!("/instructor/workshops/{id}"), Some(&instructor))
        .await
        .body;
    let row = seen
        .split("\"row\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(
        page.contains(&format!("id=\"cell-{row}-deploy-two-pods\"")),
        "the page has the cell the event names"
    );
    assert!(
        !page.contains(ada.trim_start_matches("kubelab_learner=")),
        "the learner's cookie id is never shown"
    );
}

/// The instructor resets one learner's task: on that learner's cluster only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instructor_resets_one_learners_task_on_their_cluster() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Reset").await;
    for name in ["Ada", "Brian"] {
        let cookie = app.learner().await;
        let join = serde_json::json!({"code": code, "display_name": name}).to_string();
        assert_eq!(
            json(&app, Method::POST, "/api/v1/join", &cookie, &join)
                .await
                .status,
            StatusCode::OK
        );
    }
    for (fake, _) in &class.fakes[..2] {
        solve_deploy_two_pods(fake);
    }
    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), &instructor)
        .await
        .json();
    let ada = roster["learners"][0]["key"].as_str().unwrap().to_string();
    let path = format!("/api/v1/workshops/{id}/learners/{ada}/tasks/deploy-two-pods/reset");
    assert_eq!(
        app.call(Method::POST, &path, &app.learner().await)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let reset = app.call(Method::POST, &path, &instructor).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.json()["ok"], true, "{}", reset.body);
    let gone = |n: usize| {
        class.fakes[n]
            .0
            .get("v1", "Pod", Some("test"), "pod1")
            .is_none()
    };
    for _ in 0..50 {
        if gone(0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone(0), "Ada's pod1 is gone");
    assert!(!gone(1), "Brian's cluster is untouched");
    let unknown = app
        .call(
            Method::POST,
            &format!("/api/v1/workshops/{id}/learners/nobody/tasks/deploy-two-pods/reset"),
            &instructor,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

/// A message to the class shows on members' pages, and arrives live on an open task page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reaches_the_class() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Msg").await;
    let ada = join_as(&app, &code, "Ada").await;
    let outsider = app.learner().await;

    let mut stream = open_stream(&app, "/tasks/deploy-two-pods/live", &ada).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let sent = json(
        &app,
        Method::POST,
        &format!("/api/v1/workshops/{id}/messages"),
        &instructor,
        r#"{"text": "Break until 10:45"}"#,
    )
    .await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT, "{}", sent.body);
    let seen = read_until(&mut stream, "event: message").await;
    assert!(seen.contains("data: Break until 10:45"), "{seen}");
    let page = app.get("/lessons/pod-connectivity", Some(&ada)).await.body;
    assert!(page.contains("class-messages") && page.contains("Break until 10:45"));
    let other = app
        .get("/lessons/pod-connectivity", Some(&outsider))
        .await
        .body;
    assert!(!other.contains("Break until 10:45"), "only members see it");
    let learner_try = json(
        &app,
        Method::POST,
        &format!("/api/v1/workshops/{id}/messages"),
        &ada,
        r#"{"text": "x"}"#,
    )
    .await;
    assert_eq!(learner_try.status, StatusCode::NOT_FOUND);
}

/// Two members with task pages open; both their clusters change at once. Each page gets its
/// new verdict: one learner's stored verdict never cancels another's re-check (it did, when
/// workshop messages shared the re-check loop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_open_task_page_of_a_class_follows_its_own_cluster() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (_, code) = workshop(&app, &instructor, &class, "Pages").await;
    let mut streams = Vec::new();
    for name in ["Ada", "Brian", "Chen"] {
        let cookie = join_as(&app, &code, name).await;
        streams.push(open_stream(&app, "/tasks/deploy-two-pods/live", &cookie).await);
    }
    // Each page's first verdict: the namespace is missing.
    for stream in &mut streams {
        read_until(stream, "event: verdict").await;
    }
    for (fake, _) in &class.fakes {
        crate::fake::namespace_test(fake);
    }
    for (n, stream) in streams.iter_mut().enumerate() {
        let verdict = read_until(stream, "event: verdict").await;
        assert!(verdict.contains("1 / 11 points"), "learner {n}: {verdict}");
    }
}

/// The instructor starts the one-cluster exam for the class: each member sits it on their own
/// cluster; results come back per learner and task, as JSON and CSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_exam_runs_on_each_members_own_cluster() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Exam day").await;
    let mut cookies = Vec::new();
    for name in ["Ada", "Brian", "Chen", "Dana"] {
        let cookie = app.learner().await;
        let join = serde_json::json!({"code": code, "display_name": name}).to_string();
        assert_eq!(
            json(&app, Method::POST, "/api/v1/join", &cookie, &join)
                .await
                .status,
            StatusCode::OK
        );
        cookies.push(cookie);
    }
    let exams = format!("/api/v1/workshops/{id}/exams");
    let multi = json(
        &app,
        Method::POST,
        &exams,
        &instructor,
        r#"{"exam": "pod-connectivity"}"#,
    )
    .await
    .json();
    assert!(
        multi[0]["detail"]
            .as_str()
            .unwrap()
            .contains("needs 3 clusters"),
        "{multi:#}"
    );
    let started = json(
        &app,
        Method::POST,
        &exams,
        &instructor,
        r#"{"exam": "pod-connectivity-one-cluster"}"#,
    )
    .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let started = started.json();
    for n in 0..3 {
        assert!(started[n]["attempt"].is_i64(), "{started:#}");
    }
    assert_eq!(
        started[3]["status"], "not-started",
        "Dana has no cluster: {started:#}"
    );
    let clock = app
        .call(
            Method::POST,
            &format!("/api/v1/workshops/{id}/exams/pod-connectivity-one-cluster/start"),
            &instructor,
        )
        .await
        .json();
    assert_eq!(clock["started"], 3, "{clock:#}");

    // Every member's setup ran on their own cluster.
    for (fake, _) in &class.fakes {
        for _ in 0..100 {
            if fake
                .get("v1", "Pod", Some("multi"), "multi-container")
                .is_some()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(fake.get("v1", "Namespace", None, "across").is_some());
        assert!(
            fake.get("v1", "Pod", Some("multi"), "multi-container")
                .is_some()
        );
    }
    // Ada solves the first task and submits; the results show her score per task.
    let ada_attempt = started[0]["attempt"].as_i64().unwrap();
    wait_running(&app, ada_attempt, &cookies[0]).await;
    solve_deploy_two_pods(&class.fakes[0].0);
    let submitted = app
        .call(
            Method::POST,
            &format!("/api/v1/exam-attempts/{ada_attempt}/submit"),
            &cookies[0],
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    let results = app
        .call(
            Method::GET,
            &format!("/api/v1/workshops/{id}/exams/pod-connectivity-one-cluster"),
            &instructor,
        )
        .await
        .json();
    assert_eq!(results[0]["display_name"], "Ada");
    assert_eq!(results[0]["status"], "graded");
    let tasks = results[0]["tasks"].as_array().unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t[0] == "deploy-two-pods" && t[1] == 11),
        "{results:#}"
    );
    assert_eq!(results[1]["status"], "running");
    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/workshops/{id}/exams/pod-connectivity-one-cluster.csv"),
            &instructor,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(
        lines[0].starts_with("learner,status,score,max_score,passed,complete,deploy-two-pods"),
        "{}",
        csv.body
    );
    assert!(lines[1].starts_with("Ada,graded,"), "{}", csv.body);
    assert_eq!(lines.len(), 5, "{}", csv.body);
}

/// The roster page offers the class exam and its results, and the form starts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_page_starts_a_class_exam() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Form").await;
    join_as(&app, &code, "Ada").await;
    let page = app
        .get(&format!("/instructor/workshops/{id}"), Some(&instructor))
        .await
        .body;
    assert!(
        page.contains("value=\"pod-connectivity-one-cluster\""),
        "{page}"
    );
    assert!(
        !page.contains("<option value=\"pod-connectivity\">"),
        "the three-cluster exam is not offered"
    );
    let started = app
        .send(
            request(Method::POST, &format!("/instructor/workshops/{id}/exams"))
                .header("cookie", &instructor)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("exam=pod-connectivity-one-cluster"))
                .unwrap(),
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let results = app
        .call(
            Method::GET,
            &format!("/api/v1/workshops/{id}/exams/pod-connectivity-one-cluster"),
            &instructor,
        )
        .await
        .json();
    assert!(results[0]["attempt"].is_i64(), "{results:#}");
    let page = app
        .get(&format!("/instructor/workshops/{id}"), Some(&instructor))
        .await
        .body;
    assert!(
        page.contains("class-exam") && page.contains("preparing"),
        "the roster shows the class exam: {page}"
    );
}

/// The instructor gives one learner more time on a running exam.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instructor_extends_one_learners_exam() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Extend").await;
    let ada = join_as(&app, &code, "Ada").await;
    let started = start_class_exam(&app, &instructor, id).await;
    start_class_clock(&app, &instructor, id).await;
    let attempt = started[0]["attempt"].as_i64().unwrap();
    let before = wait_running(&app, attempt, &ada).await;
    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), &instructor)
        .await
        .json();
    let row = roster["learners"][0]["key"].as_str().unwrap().to_string();
    let path = format!("/api/v1/workshops/{id}/learners/{row}/extend");
    assert_eq!(
        json(&app, Method::POST, &path, &instructor, r#"{"minutes": 0}"#)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        json(&app, Method::POST, &path, &ada, r#"{"minutes": 5}"#)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let extended = json(&app, Method::POST, &path, &instructor, r#"{"minutes": 5}"#).await;
    assert_eq!(extended.status, StatusCode::OK, "{}", extended.body);
    let after = app
        .call(
            Method::GET,
            &format!("/api/v1/exam-attempts/{attempt}"),
            &ada,
        )
        .await
        .json();
    assert_eq!(
        after["deadline_at"].as_i64().unwrap(),
        before["deadline_at"].as_i64().unwrap() + 300,
        "{after:#}"
    );
    assert_eq!(extended.json()["deadline_at"], after["deadline_at"]);
}

/// The instructor opens the next hint of a task for everyone: open on members' task pages,
/// pushed live to an open one, and not for learners outside the workshop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instructor_opens_a_hint_for_the_class() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Hints").await;
    let ada = join_as(&app, &code, "Ada").await;
    let outsider = app.learner().await;
    let page = app.get("/tasks/deploy-two-pods", Some(&ada)).await.body;
    assert!(!page.contains("data-hint=\"1\" open"), "closed at first");

    let mut stream = open_stream(&app, "/tasks/deploy-two-pods/live", &ada).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let path = format!("/api/v1/workshops/{id}/tasks/deploy-two-pods/hints");
    let first = app.call(Method::POST, &path, &instructor).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json()["revealed"], 1);
    let seen = read_until(&mut stream, "event: hint").await;
    assert!(seen.contains("data: 1"), "{seen}");
    let page = app.get("/tasks/deploy-two-pods", Some(&ada)).await.body;
    assert!(page.contains("data-hint=\"1\" open"), "open after a reload");
    assert!(!page.contains("data-hint=\"2\" open"));
    let other = app
        .get("/tasks/deploy-two-pods", Some(&outsider))
        .await
        .body;
    assert!(
        !other.contains("data-hint=\"1\" open"),
        "only for the class"
    );
    // It stops at the last hint; a learner cannot open hints for the class.
    for _ in 0..5 {
        app.call(Method::POST, &path, &instructor).await;
    }
    assert_eq!(
        app.call(Method::POST, &path, &instructor).await.json()["revealed"],
        3
    );
    assert_eq!(
        app.call(Method::POST, &path, &ada).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A class exam's clocks wait until the instructor starts them together: one deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_exam_starts_everyones_clock_at_once() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Together").await;
    let ada = join_as(&app, &code, "Ada").await;
    let brian = join_as(&app, &code, "Brian").await;
    let started = start_class_exam(&app, &instructor, id).await;
    let attempts = [
        (started[0]["attempt"].as_i64().unwrap(), ada),
        (started[1]["attempt"].as_i64().unwrap(), brian),
    ];
    // Setups finish, but no clock starts.
    for (attempt, cookie) in &attempts {
        for _ in 0..100 {
            let state = app
                .call(
                    Method::GET,
                    &format!("/api/v1/exam-attempts/{attempt}"),
                    cookie,
                )
                .await
                .json();
            if state["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["setup"] == "ok")
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for (attempt, cookie) in &attempts {
        let state = app
            .call(
                Method::GET,
                &format!("/api/v1/exam-attempts/{attempt}"),
                cookie,
            )
            .await
            .json();
        assert_eq!(state["status"], "preparing", "held: {state:#}");
    }
    let mut roster = open_stream(
        &app,
        &format!("/instructor/workshops/{id}/live"),
        &instructor,
    )
    .await;
    let start = app
        .call(
            Method::POST,
            &format!("/api/v1/workshops/{id}/exams/pod-connectivity-one-cluster/start"),
            &instructor,
        )
        .await
        .json();
    assert_eq!(start["started"], 2, "{start:#}");
    // The instructor's roster hears that the exams moved on.
    read_until(&mut roster, "event: reload").await;
    let mut deadlines = Vec::new();
    for (attempt, cookie) in &attempts {
        let state = wait_running(&app, *attempt, cookie).await;
        assert_eq!(state["status"], "running");
        deadlines.push(state["deadline_at"].as_i64().unwrap());
    }
    assert_eq!(deadlines[0], deadlines[1], "one deadline for the class");
    assert_eq!(Some(deadlines[0]), start["deadline_at"].as_i64());
}

/// The join link as a QR code, for the instructor only.
#[tokio::test]
async fn the_join_link_has_a_qr_code_for_the_projector() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, _) = workshop(&app, &instructor, &class, "QR").await;
    let qr = app
        .get(
            &format!("/instructor/workshops/{id}/qr.svg"),
            Some(&instructor),
        )
        .await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(
        qr.body.contains("<svg") && qr.body.contains("<path"),
        "{}",
        qr.body
    );
    let learner = app.learner().await;
    assert_eq!(
        app.get(
            &format!("/instructor/workshops/{id}/qr.svg"),
            Some(&learner)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let page = app
        .get(&format!("/instructor/workshops/{id}"), Some(&instructor))
        .await
        .body;
    assert!(page.contains(&format!("/instructor/workshops/{id}/qr.svg")));
}

/// The instructor looks at one learner: their cluster and every verdict with its evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instructor_sees_one_learners_verdicts_with_evidence() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Detail").await;
    let ada = join_as(&app, &code, "Ada").await;
    app.call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &ada)
        .await;
    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), &instructor)
        .await
        .json();
    let key = roster["learners"][0]["key"].as_str().unwrap().to_string();
    let path = format!("/instructor/workshops/{id}/learners/{key}");
    let page = app.get(&path, Some(&instructor)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("learner-1.yaml"), "{}", page.body);
    assert!(
        page.body.contains("namespace test does not exist"),
        "the evidence: {}",
        page.body
    );
    assert!(
        page.body.contains("Not checked yet"),
        "tasks never checked say so"
    );
    assert_eq!(
        app.get(&path, Some(&ada)).await.status,
        StatusCode::NOT_FOUND
    );
    let roster_page = app
        .get(&format!("/instructor/workshops/{id}"), Some(&instructor))
        .await
        .body;
    assert!(roster_page.contains(&path));
}

/// A learner who leaves frees their cluster for the one who has waited longest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freed_cluster_goes_to_the_learner_who_waited() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Seats").await;
    let _ada = join_as(&app, &code, "Ada").await;
    let brian = join_as(&app, &code, "Brian").await;
    let _chen = join_as(&app, &code, "Chen").await;
    let dana = join_as(&app, &code, "Dana").await;
    let waiting = app
        .call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &dana)
        .await;
    assert!(
        waiting.body.contains("you wait for a free one"),
        "{}",
        waiting.body
    );

    let left = app
        .call(Method::POST, "/api/v1/workshop/leave", &brian)
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.body);
    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), &instructor)
        .await
        .json();
    let dana_row = roster["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["display_name"] == "Dana")
        .unwrap();
    assert_eq!(dana_row["cluster"]["name"], "learner-2.yaml", "{roster:#}");
    assert!(
        roster.to_string().find("Brian").is_none(),
        "Brian left the roster"
    );
    class.fakes[1].0.clear_requests();
    app.call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &dana)
        .await;
    assert!(
        !class.fakes[1].0.requests().is_empty(),
        "Dana now works on Brian's old cluster"
    );
    let again = app
        .call(Method::POST, "/api/v1/workshop/leave", &brian)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);

    // The instructor removes Chen; the next learner to join gets the freed cluster.
    let chen_key = roster["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["display_name"] == "Chen")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let removed = app
        .call(
            Method::DELETE,
            &format!("/api/v1/workshops/{id}/learners/{chen_key}"),
            &instructor,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let eve = app.learner().await;
    let join = serde_json::json!({"code": code, "display_name": "Eve"}).to_string();
    let joined = json(&app, Method::POST, "/api/v1/join", &eve, &join)
        .await
        .json();
    assert_eq!(joined["cluster"], "learner-3.yaml", "{joined:#}");
}

/// A learner whose class exam ended incomplete (their cluster could not be judged) gets a new
/// attempt from the instructor; one judged completely does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instructor_grants_a_new_attempt_after_an_incomplete_one() {
    let class = class().await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &class, "Retake").await;
    let ada = join_as(&app, &code, "Ada").await;
    let started = start_class_exam(&app, &instructor, id).await;
    let attempt = started[0]["attempt"].as_i64().unwrap();
    let exam = "pod-connectivity-one-cluster";
    let grant = format!(
        "/api/v1/workshops/{id}/learners/{}/exams/{exam}/grant",
        row_of(&app, &instructor, id, "Ada").await
    );
    // Not before it has ended.
    let early = app.call(Method::POST, &grant, &instructor).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{}", early.body);
    assert_eq!(
        start_class_clock(&app, &instructor, id).await.json()["started"],
        1
    );
    wait_running(&app, attempt, &ada).await;
    class.fakes[0]
        .0
        .inject(fake_apiserver::Fault::status("/", 503));
    let submitted = app
        .call(
            Method::POST,
            &format!("/api/v1/exam-attempts/{attempt}/submit"),
            &ada,
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    class.fakes[0].0.clear_faults();
    let results = app
        .call(
            Method::GET,
            &format!("/api/v1/workshops/{id}/exams/{exam}"),
            &instructor,
        )
        .await
        .json();
    assert_eq!(results[0]["complete"], false, "{results:#}");

    let granted = app.call(Method::POST, &grant, &instructor).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let new = granted.json()["attempt"].as_i64().unwrap();
    assert_ne!(new, attempt);
    // It starts on its own (no class hold) on her own cluster.
    assert_eq!(wait_running(&app, new, &ada).await["status"], "running");
    let submitted = app
        .call(
            Method::POST,
            &format!("/api/v1/exam-attempts/{new}/submit"),
            &ada,
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    let again = app.call(Method::POST, &grant, &instructor).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.body.contains("judged completely"), "{}", again.body);
}

/// The roster row key of a learner by display name.
async fn row_of(app: &TestApp, instructor: &str, id: i64, name: &str) -> String {
    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), instructor)
        .await
        .json();
    roster["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["display_name"] == name)
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string()
}

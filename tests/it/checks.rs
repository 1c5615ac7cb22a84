//! Checking the five tasks against the fake API server: broken states give the failing
//! criteria with the evidence a learner needs; solved states give full marks. Through the
//! JSON API and through `kubelab check`.

use std::process::Command;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use fake_apiserver::{ExecRule, Fault};
use kubelab::probe;
use serde_json::Value;

use crate::fake::*;

async fn check(env: &Env, task: &str) -> Value {
    check_app(&env.app, task).await
}

async fn check_app(app: &crate::support::TestApp, task: &str) -> Value {
    let cookie = app.learner().await;
    let reply = app
        .call(
            Method::POST,
            &format!("/api/v1/tasks/{task}/check"),
            &cookie,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

/// Checks through the JSON API and through `kubelab check --json`; both must agree.
async fn both(env: &Env, task: &str) -> Value {
    let api = check(env, task).await;
    let (code, stdout, stderr) = tokio::task::block_in_place(|| run_cli(env, task, true));
    let cli: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is only JSON ({e}): {stdout}{stderr}"));
    assert_eq!(
        code,
        Some(if api["passed"] == true { 0 } else { 1 }),
        "{stderr}"
    );
    for key in ["task", "score", "max_score", "passed"] {
        assert_eq!(api[key], cli[key], "{key}: API {api:#} vs CLI {cli:#}");
    }
    let statuses = |v: &Value| -> Vec<(String, String)> {
        v["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].to_string(), c["status"].to_string()))
            .collect()
    };
    assert_eq!(statuses(&api), statuses(&cli));
    api
}

fn criterion<'a>(verdict: &'a Value, id: &str) -> &'a Value {
    verdict["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no criterion {id} in {verdict}"))
}

fn status(verdict: &Value, id: &str) -> String {
    criterion(verdict, id)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn evidence_text(verdict: &Value, id: &str) -> String {
    criterion(verdict, id)["evidence"].to_string()
}

fn full_marks(verdict: &Value) {
    assert_eq!(verdict["score"], verdict["max_score"], "{verdict:#}");
    assert_eq!(verdict["passed"], true, "{verdict:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_two_pods_empty_then_solved() {
    let env = env().await;
    nodes(&env.fake, true);
    flannel(&env.fake, 2);
    let verdict = both(&env, "deploy-two-pods").await;
    assert_eq!(verdict["score"], 0);
    assert_eq!(verdict["max_score"], 11);
    assert_eq!(status(&verdict, "namespace-test"), "failed");
    assert!(evidence_text(&verdict, "namespace-test").contains("namespace test does not exist"));
    assert_eq!(status(&verdict, "pod1-running"), "failed");
    assert!(
        evidence_text(&verdict, "pod1-running")
            .contains("pod pod1 does not exist in namespace test")
    );
    assert_eq!(status(&verdict, "pod1-reaches-pod2"), "failed");

    namespace_test(&env.fake);
    running_nginx(&env.fake, "pod1", "10.244.1.2");
    running_nginx(&env.fake, "pod2", "10.244.1.3");
    pod1_reaches_pod2(&env.fake);
    let verdict = both(&env, "deploy-two-pods").await;
    full_marks(&verdict);
    let reach = criterion(&verdict, "pod1-reaches-pod2");
    assert!(
        reach["evidence"]["command"]
            .as_str()
            .unwrap()
            .starts_with("kubectl exec -n test pod1 -- sh -c")
    );
    assert!(
        reach["evidence"]["observed"]
            .as_str()
            .unwrap()
            .contains("HTTP/1.1 200")
    );
}

#[tokio::test]
async fn deploy_two_pods_with_a_connection_refused() {
    let env = env().await;
    nodes(&env.fake, true);
    namespace_test(&env.fake);
    running_nginx(&env.fake, "pod1", "10.244.1.2");
    running_nginx(&env.fake, "pod2", "10.244.1.3");
    env.fake.script_exec(
        ExecRule::new("test", "pod1", probe::http("10.244.1.3", 80))
            .stdout("HTTP/1.1 000\n")
            .stderr("curl: (7) Failed to connect to 10.244.1.3 port 80 after 1 ms: Couldn't connect to server\n")
            .exit_code(7),
    );
    let verdict = check(&env, "deploy-two-pods").await;
    assert_eq!(verdict["score"], 8);
    assert_eq!(status(&verdict, "pod1-reaches-pod2"), "failed");
    assert!(evidence_text(&verdict, "pod1-reaches-pod2").contains("Couldn't connect to server"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_flannel_before_and_after() {
    let env = env().await;
    nodes(&env.fake, false);
    namespace_test(&env.fake);
    unschedulable(&env.fake, "pod1");
    unschedulable(&env.fake, "pod2");
    let verdict = both(&env, "install-flannel").await;
    assert_eq!(verdict["score"], 0);
    assert!(
        evidence_text(&verdict, "flannel-ready").contains("no matching DaemonSet in any namespace")
    );
    assert!(evidence_text(&verdict, "nodes-ready").contains("cni plugin not initialized"));
    assert_eq!(status(&verdict, "pod1-running"), "failed");
    assert!(
        evidence_text(&verdict, "pod1-running")
            .contains("untolerated taint {node.kubernetes.io/not-ready: }")
    );

    nodes(&env.fake, true);
    flannel(&env.fake, 2);
    running_nginx(&env.fake, "pod1", "10.244.1.2");
    running_nginx(&env.fake, "pod2", "10.244.1.3");
    pod1_reaches_pod2(&env.fake);
    let verdict = both(&env, "install-flannel").await;
    full_marks(&verdict);
    assert!(
        criterion(&verdict, "flannel-ready")["evidence"]["observed"]
            .as_str()
            .unwrap()
            .contains("found in namespace kube-flannel")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intra_pod_localhost_solved_and_missing() {
    let env = env().await;
    nodes(&env.fake, true);
    namespace_test(&env.fake);
    let verdict = both(&env, "intra-pod-localhost").await;
    assert_eq!(verdict["score"], 0);
    assert!(
        evidence_text(&verdict, "app-reaches-redis").contains("pod multi-container does not exist")
    );

    multi_container(&env.fake, "redis:7", 6379, false);
    env.fake.script_exec(
        ExecRule::new("multi", "multi-container", probe::redis_ping(6379))
            .container("app")
            .stdout("+PONG\r\n"),
    );
    env.fake.script_exec(
        ExecRule::new("multi", "multi-container", probe::http("127.0.0.1", 80))
            .container("sidecar")
            .stdout("HTTP/1.1 200 OK\r\n"),
    );
    let verdict = both(&env, "intra-pod-localhost").await;
    full_marks(&verdict);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_missing_cni_broken_then_repaired() {
    let env = env().await;
    nodes(&env.fake, true);
    namespace_test(&env.fake);
    container_creating(&env.fake, "pod1", 90);
    container_creating(&env.fake, "pod2", 90);
    let verdict = both(&env, "fix-missing-cni").await;
    assert_eq!(status(&verdict, "flannel-ready"), "failed");
    assert_eq!(status(&verdict, "pod1-running"), "failed");
    let evidence = evidence_text(&verdict, "pod1-running");
    assert!(evidence.contains("ContainerCreating"), "{evidence}");
    assert!(
        evidence.contains(
            "loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory"
        ),
        "{evidence}"
    );
    assert_eq!(status(&verdict, "pod1-reaches-pod2"), "failed");
    assert_eq!(verdict["score"], 1, "only nodes-ready holds: {verdict:#}");

    flannel(&env.fake, 2);
    running_nginx(&env.fake, "pod1", "10.244.1.2");
    running_nginx(&env.fake, "pod2", "10.244.1.3");
    pod1_reaches_pod2(&env.fake);
    full_marks(&both(&env, "fix-missing-cni").await);
}

#[tokio::test]
async fn a_pod_still_being_created_is_pending() {
    let env = env().await;
    nodes(&env.fake, true);
    namespace_test(&env.fake);
    flannel(&env.fake, 2);
    env.fake.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pod1", "namespace": "test", "creationTimestamp": ago(5)},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 0, "image": "nginx:1.25", "imageID": "",
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}
    }));
    let verdict = check(&env, "fix-missing-cni").await;
    assert_eq!(status(&verdict, "pod1-running"), "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_port_conflict_broken_then_fixed() {
    let env = env().await;
    nodes(&env.fake, true);
    namespace_test(&env.fake);
    multi_container(&env.fake, "nginx:1.25", 80, true);
    let verdict = both(&env, "fix-port-conflict").await;
    assert_eq!(verdict["score"], 0);
    let stable = criterion(&verdict, "sidecar-stable");
    assert_eq!(stable["status"], "failed");
    let logs = stable["evidence"]["logs"].to_string();
    assert!(
        logs.contains("bind() to 0.0.0.0:80 failed (98: Address already in use)"),
        "{stable:#}"
    );
    assert!(
        evidence_text(&verdict, "unique-ports")
            .contains("port 80/TCP is declared by both app and sidecar")
    );
    assert!(evidence_text(&verdict, "pod-running").contains("CrashLoopBackOff"));

    multi_container(&env.fake, "redis:7", 6379, false);
    full_marks(&both(&env, "fix-port-conflict").await);
}

#[tokio::test]
async fn the_check_is_stored_and_shown_on_the_task_page() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let reply = env
        .app
        .send(
            crate::support::request(Method::POST, "/tasks/deploy-two-pods/check")
                .header("cookie", &cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers["location"], "/tasks/deploy-two-pods#verdict");
    let page = env
        .app
        .get("/tasks/deploy-two-pods", Some(&cookie))
        .await
        .body;
    assert!(page.contains("0 / 11 points"), "{page}");
    assert!(page.contains("namespace test does not exist"));
    let progress = env
        .app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    let task = &progress["lessons"][0]["tasks"][0];
    assert_eq!(task["id"], "deploy-two-pods");
    assert_eq!(task["best_score"], 0);
    assert_eq!(task["runs"], 1);
}

#[tokio::test]
async fn unknown_task_is_a_json_404() {
    let env = env().await;
    let cookie = env.app.learner().await;
    let reply = env
        .app
        .call(Method::POST, "/api/v1/tasks/nope/check", &cookie)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

fn run_cli(env: &Env, task: &str, json: bool) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubelab"));
    command
        .args(["check", task, "--kubeconfig"])
        .arg(&env.kubeconfig);
    if json {
        command.arg("--json");
    }
    let out = command.env_remove("KUBELAB_CONTEXT").output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_the_same_verdict_and_exits_by_it() {
    let env = env().await;
    nodes(&env.fake, true);
    namespace_test(&env.fake);
    multi_container(&env.fake, "nginx:1.25", 80, true);
    let (code, stdout, stderr) =
        tokio::task::block_in_place(|| run_cli(&env, "fix-port-conflict", true));
    assert_eq!(code, Some(1), "{stderr}");
    let verdict: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is only JSON ({e}): {stdout}"));
    assert_eq!(verdict["task"], "fix-port-conflict");
    assert_eq!(verdict["score"], 0);
    assert_eq!(verdict["max_score"], 6);
    assert_eq!(criterion(&verdict, "sidecar-stable")["status"], "failed");

    let (code, stdout, _) =
        tokio::task::block_in_place(|| run_cli(&env, "fix-port-conflict", false));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("[FAIL]"), "{stdout}");
    assert!(stdout.contains("Address already in use"), "{stdout}");

    multi_container(&env.fake, "redis:7", 6379, false);
    let (code, stdout, stderr) =
        tokio::task::block_in_place(|| run_cli(&env, "fix-port-conflict", true));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let verdict: Value = serde_json::from_str(&stdout).unwrap();
    full_marks(&verdict);

    let (code, _, stderr) = tokio::task::block_in_place(|| run_cli(&env, "nope", false));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("there is no task `nope`"));
}

#[tokio::test]
async fn an_unreachable_cluster_gives_errors_not_a_500() {
    let Env { server, app, .. } = env().await;
    server.shutdown().await;
    let verdict = check_app(&app, "deploy-two-pods").await;
    assert_eq!(verdict["score"], 0);
    for c in verdict["criteria"].as_array().unwrap() {
        assert_eq!(c["status"], "error", "{c}");
        assert!(c["evidence"].to_string().contains("unreachable"), "{c}");
    }
}

#[tokio::test]
async fn api_errors_are_criterion_errors_with_the_reason() {
    for (code, words) in [
        (401, "Unauthorized"),
        (403, "forbidden"),
        (500, "500"),
        (503, "503"),
    ] {
        let env = env().await;
        nodes(&env.fake, true);
        env.fake.inject(Fault::status("/pods/pod1", code));
        let verdict = check(&env, "deploy-two-pods").await;
        assert_eq!(status(&verdict, "pod1-running"), "error", "{code}");
        assert!(
            evidence_text(&verdict, "pod1-running").contains(words),
            "{code}: {verdict:#}"
        );
        assert_eq!(
            status(&verdict, "namespace-test"),
            "failed",
            "other criteria are still judged"
        );
    }
}

#[tokio::test]
async fn a_dropped_exec_stream_is_an_error() {
    let env = env().await;
    nodes(&env.fake, true);
    namespace_test(&env.fake);
    running_nginx(&env.fake, "pod1", "10.244.1.2");
    running_nginx(&env.fake, "pod2", "10.244.1.3");
    pod1_reaches_pod2(&env.fake);
    env.fake.inject(Fault::DropExec);
    let verdict = check(&env, "deploy-two-pods").await;
    assert_eq!(status(&verdict, "pod1-reaches-pod2"), "error");
    assert!(
        evidence_text(&verdict, "pod1-reaches-pod2")
            .contains("closed before the command reported its exit status")
    );
    assert_eq!(verdict["score"], 8);
}

#[tokio::test]
async fn a_hanging_api_server_times_out_within_the_budget() {
    let env = env().await;
    nodes(&env.fake, true);
    env.fake.inject(Fault::delay(
        "/api/v1/namespaces/test/pods/pod1",
        Duration::from_secs(30),
    ));
    let started = std::time::Instant::now();
    let verdict = check(&env, "deploy-two-pods").await;
    assert!(
        started.elapsed() < Duration::from_secs(16),
        "bounded by the 15 s budget"
    );
    assert_eq!(status(&verdict, "pod1-running"), "error");
}

#[tokio::test]
async fn a_malformed_kubeconfig_is_explained() {
    let env = env().await;
    std::fs::write(&env.kubeconfig, "apiVersion: v1\nclusters: [oops\n").unwrap();
    let verdict = check(&env, "deploy-two-pods").await;
    assert_eq!(status(&verdict, "namespace-test"), "error");
    assert!(
        evidence_text(&verdict, "namespace-test").contains("cannot be used"),
        "{verdict:#}"
    );
    std::fs::remove_file(&env.kubeconfig).unwrap();
    let verdict = check(&env, "deploy-two-pods").await;
    assert!(
        evidence_text(&verdict, "namespace-test").contains("kubelab cluster create"),
        "{verdict:#}"
    );
}

/// Plays the kubelet for probe pods: marks them Running.
fn run_probe_pods(fake: &fake_apiserver::FakeCluster) -> tokio::task::JoinHandle<()> {
    let fake = fake.clone();
    tokio::spawn(async move {
        loop {
            for mut pod in fake.list("v1", "Pod") {
                let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
                if name.starts_with("kubelab-probe-") && pod["status"]["phase"] != "Running" {
                    pod["apiVersion"] = "v1".into();
                    pod["kind"] = "Pod".into();
                    pod["status"] = serde_json::json!({"phase": "Running", "podIP": "10.244.1.50",
                        "containerStatuses": [{"name": "probe", "ready": true, "restartCount": 0, "image": "busybox:1.36", "imageID": "", "state": {"running": {"startedAt": ago(1)}}}]});
                    fake.apply(pod);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn probe_pod_task(env: &Env) -> kubelab::Task {
    let base = env
        .app
        .state
        .service
        .catalogue()
        .task("deploy-two-pods")
        .unwrap();
    let check: kubelab::Check = serde_yaml_ng::from_str(
        "kind: pod-to-pod\nnamespace: test\nfrom: pod1\nto: pod2\nport: 80\nprotocol: http\nprobe: probe-pod\n",
    )
    .unwrap();
    kubelab::Task {
        id: "probe".into(),
        title: "probe".into(),
        lesson: base.lesson.clone(),
        minutes: 1,
        style: base.style,
        statement_html: String::new(),
        files: Vec::new(),
        hints_html: Vec::new(),
        solution_html: String::new(),
        source: Default::default(),
        requires: base.requires.clone(),
        changes: Vec::new(),
        owns: Vec::new(),
        setup: Vec::new(),
        cleanup: Vec::new(),
        solve: Vec::new(),
        wrong: Vec::new(),
        right: Vec::new(),
        checks: vec![kubelab::Criterion {
            id: "reach".into(),
            description: "reach".into(),
            points: 1,
            check,
        }],
    }
}

#[tokio::test]
async fn a_probe_pod_runs_the_probe_and_is_always_removed() {
    let env = env().await;
    namespace_test(&env.fake);
    running_nginx(&env.fake, "pod2", "10.244.1.3");
    env.fake.script_exec(
        ExecRule::new("test", "kubelab-probe-*", probe::http("10.244.1.3", 80))
            .stdout("HTTP/1.1 200\n"),
    );
    let kubelet = run_probe_pods(&env.fake);
    let task = probe_pod_task(&env);
    let conn = kubelab::Connection::open(
        &kubelab::KubeconfigSource::file(env.kubeconfig.clone()),
        "kind-kubelab",
    )
    .await
    .unwrap();
    let verdict = kubelab::check(Ok(conn.clone()), &task).await;
    kubelet.abort();
    assert!(verdict.passed, "{verdict:#?}");
    assert!(
        verdict.criteria[0]
            .evidence
            .command
            .as_ref()
            .unwrap()
            .contains("busybox:1.36")
    );
    let probes = |fake: &fake_apiserver::FakeCluster| {
        fake.list("v1", "Pod")
            .iter()
            .filter(|p| {
                p["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("kubelab-probe-")
            })
            .count()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(probes(&env.fake), 0, "the probe pod was removed");

    // A probe pod that never starts: the check errors within its budget, and the pod still goes.
    let verdict = kubelab::check(Ok(conn), &task).await;
    assert_eq!(verdict.criteria[0].status, kubelab::CriterionStatus::Error);
    assert!(
        verdict.criteria[0].evidence.reasons[0].contains("did not start"),
        "{verdict:#?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(probes(&env.fake), 0, "the probe pod was removed");
}

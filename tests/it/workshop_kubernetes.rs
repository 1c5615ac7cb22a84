//! The workshop `kubernetes` provider against a fake management API server: kubelab creates
//! an environment Pod per learner in the workshop's namespace, follows it to Ready, reads the
//! learner's kubeconfig from the Secret it publishes, and deletes it when the learner leaves;
//! a Pod that fails, and one that never becomes ready, end as failed clusters with the reason
//! and a retry.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use fake_apiserver::{FakeCluster, Server};
use serde_json::{Value, json};

use crate::exams::send_json;
use crate::fake::{flannel, nodes};
use crate::support::TestApp;
use crate::workshops::{SECRET, app_with, instructor_cookie, sign_in};

/// A management cluster and a learner cluster its environments "run".
struct Clusters {
    management: FakeCluster,
    _management_server: Server,
    learners: Vec<(FakeCluster, Server)>,
    dir: tempfile::TempDir,
}

async fn clusters(learners: usize) -> Clusters {
    let management = FakeCluster::new();
    // A node pool for the environments: the fake's scheduler binds their Pods to it.
    nodes(&management, true);
    let management_server = management.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("management.yaml"),
        management.kubeconfig(&management_server, "mgmt"),
    )
    .unwrap();
    let mut list = Vec::new();
    for _ in 0..learners {
        let fake = FakeCluster::new();
        nodes(&fake, true);
        flannel(&fake, 2);
        let server = fake.start().await.unwrap();
        list.push((fake, server));
    }
    Clusters {
        management,
        _management_server: management_server,
        learners: list,
        dir,
    }
}

async fn workshop(app: &TestApp, instructor: &str, c: &Clusters, extra: Value) -> (i64, String) {
    let mut provider = json!({
        "kind": "kubernetes",
        "kubeconfig": c.dir.path().join("management.yaml"),
        "image": "registry.example.test/kubelab-environment:test",
        "warm": 0,
        "parallel": 4,
    });
    for (k, v) in extra.as_object().unwrap() {
        provider[k] = v.clone();
    }
    let body = json!({
        "title": "Cloud class",
        "lesson": "pod-connectivity",
        "tasks": ["deploy-two-pods"],
        "provider": provider,
    });
    let reply = send_json(
        app,
        Method::POST,
        "/api/v1/workshops",
        instructor,
        &body.to_string(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    (
        created["id"].as_i64().unwrap(),
        created["code"].as_str().unwrap().to_string(),
    )
}

async fn join(app: &TestApp, code: &str, name: &str) -> (String, Value) {
    let cookie = app.learner().await;
    let body = json!({"code": code, "display_name": name}).to_string();
    let reply = send_json(app, Method::POST, "/api/v1/join", &cookie, &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    (cookie, reply.json())
}

/// Waits for the environment Pod kubelab creates for the workshop (the one not in `seen`),
/// once the scheduler has bound it to a node (the kubelet's status comes after that).
async fn new_pod(mgmt: &FakeCluster, id: i64, seen: &[String]) -> Value {
    named_pod(mgmt, id, seen, None).await
}

/// Like [`new_pod`], the one named `wanted` when given (the learner's own environment).
async fn named_pod(mgmt: &FakeCluster, id: i64, seen: &[String], wanted: Option<&str>) -> Value {
    let namespace = format!("kubelab-ws-{id}");
    for _ in 0..100 {
        if let Some(pod) = mgmt.list("v1", "Pod").into_iter().find(|p| {
            p["metadata"]["namespace"] == namespace.as_str()
                && p["spec"]["nodeName"].is_string()
                && wanted.is_none_or(|w| p["metadata"]["name"] == w)
                && !seen.iter().any(|s| p["metadata"]["name"] == s.as_str())
        }) {
            return pod;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no environment Pod in {namespace}");
}

/// Acts as the environment: the Pod becomes Ready and publishes the learner's kubeconfig.
fn comes_up(mgmt: &FakeCluster, pod: &Value, kubeconfig: &str) {
    let mut pod = pod.clone();
    pod["status"] = json!({
        "phase": "Running",
        "podIP": "10.8.0.7",
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
        "containerStatuses": [{"name": "environment", "ready": true, "restartCount": 0,
            "image": "x", "imageID": "x", "state": {"running": {"startedAt": "2026-11-30T00:00:00Z"}}}],
    });
    mgmt.apply(pod.clone());
    let name = pod["metadata"]["name"].as_str().unwrap();
    let namespace = pod["metadata"]["namespace"].as_str().unwrap();
    // As `kubectl create secret generic --from-file` writes it: base64 under `data`.
    mgmt.apply(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{name}-kubeconfig"), "namespace": namespace},
        "data": {"kubeconfig": base64(kubeconfig.as_bytes())},
    }));
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn mine_until(app: &TestApp, cookie: &str, state: &str) -> Value {
    let mut mine = Value::Null;
    for _ in 0..150 {
        mine = app
            .call(Method::GET, "/api/v1/workshop", cookie)
            .await
            .json();
        if mine["cluster"]["state"] == state {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cluster not {state}: {mine:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_learner_gets_an_environment_pod_and_its_kubeconfig() {
    let c = clusters(2).await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &c, json!({})).await;

    let (ada, joined) = join(&app, &code, "Ada").await;
    assert_eq!(joined["status"], "provisioning", "{joined:#}");
    let pod = named_pod(&c.management, id, &[], joined["cluster"].as_str()).await;
    let spec = &pod["spec"];
    assert_eq!(spec["containers"][0]["securityContext"]["privileged"], true);
    assert_eq!(
        spec["containers"][0]["image"],
        "registry.example.test/kubelab-environment:test"
    );
    assert_eq!(spec["tolerations"][0]["key"], "kubelab.dev/environments");
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        c.management
            .get(
                "rbac.authorization.k8s.io/v1",
                "Role",
                Some(&format!("kubelab-ws-{id}")),
                "kubelab-environment"
            )
            .is_some(),
        "the publisher may write Secrets in the namespace"
    );
    // While it starts, the learner's page says so and their checks wait for it.
    let page = app.get("/", Some(&ada)).await.body;
    assert!(page.contains("Your workshop cluster is starting"), "{page}");
    let check = app
        .call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &ada)
        .await
        .body;
    assert!(check.contains("your cluster is starting"), "{check}");

    let (learner, server) = &c.learners[0];
    comes_up(&c.management, &pod, &learner.kubeconfig(server, "kind-lab"));
    let mine = mine_until(&app, &ada, "ready").await;
    assert_eq!(mine["cluster"]["name"], name.as_str());
    // Her checks now run on the cluster the environment published.
    learner.clear_requests();
    let verdict = app
        .call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &ada)
        .await;
    assert_eq!(verdict.status, StatusCode::OK, "{}", verdict.body);
    assert!(
        !learner.requests().is_empty(),
        "the check reached her environment's cluster"
    );

    // She leaves: the Pod and its Secret are deleted.
    let left = app.call(Method::POST, "/api/v1/workshop/leave", &ada).await;
    assert_eq!(left.status, StatusCode::NO_CONTENT);
    let namespace = format!("kubelab-ws-{id}");
    for _ in 0..100 {
        if c.management
            .get("v1", "Pod", Some(&namespace), &name)
            .is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        c.management
            .get("v1", "Pod", Some(&namespace), &name)
            .is_none()
    );
    assert!(
        c.management
            .get(
                "v1",
                "Secret",
                Some(&namespace),
                &format!("{name}-kubeconfig")
            )
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_environment_says_why_and_can_be_tried_again() {
    let c = clusters(1).await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &c, json!({})).await;
    let (ada, joined) = join(&app, &code, "Ada").await;
    let mut pod = named_pod(&c.management, id, &[], joined["cluster"].as_str()).await;
    let first = pod["metadata"]["name"].as_str().unwrap().to_string();
    pod["status"] = json!({
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "environment", "ready": false, "restartCount": 0,
            "image": "x", "imageID": "",
            "state": {"waiting": {"reason": "ImagePullBackOff",
                "message": "Back-off pulling image \"registry.example.test/kubelab-environment:test\""}}}],
    });
    c.management.apply(pod);
    let mine = mine_until(&app, &ada, "failed").await;
    assert!(
        mine["cluster"]["error"]
            .as_str()
            .unwrap()
            .contains("ImagePullBackOff"),
        "{mine:#}"
    );
    // The learner sees it with a retry, and so does the instructor.
    let page = app.get("/", Some(&ada)).await.body;
    assert!(page.contains("could not be made"), "{page}");
    assert!(page.contains("/workshop/cluster/retry"), "{page}");
    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), &instructor)
        .await
        .json();
    assert_eq!(roster["learners"][0]["cluster"]["state"], "failed");
    // Trying again makes a new environment.
    let retried = app
        .call(Method::POST, "/api/v1/workshop/cluster/retry", &ada)
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    let second = new_pod(&c.management, id, std::slice::from_ref(&first)).await;
    assert_ne!(second["metadata"]["name"], first.as_str());
    // A second retry while it is being made is refused, plainly.
    let again = app
        .call(Method::POST, "/api/v1/workshop/cluster/retry", &ada)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_that_never_becomes_ready_times_out() {
    let c = clusters(1).await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let (id, code) = workshop(&app, &instructor, &c, json!({"boot_timeout": 5})).await;
    let (ada, joined) = join(&app, &code, "Ada").await;
    let mut pod = named_pod(&c.management, id, &[], joined["cluster"].as_str()).await;
    // Scheduled and running, but its readiness never comes.
    pod["status"] = json!({
        "phase": "Running",
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "environment", "ready": false, "restartCount": 0,
            "image": "x", "imageID": "x", "state": {"running": {"startedAt": "2026-11-30T00:00:00Z"}}}],
    });
    c.management.apply(pod);
    let mine = mine_until(&app, &ada, "failed").await;
    let error = mine["cluster"]["error"].as_str().unwrap();
    assert!(
        error.contains("not ready within 5 s")
            && error.contains("booting Docker and the kind cluster"),
        "{mine:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_that_ends_deletes_its_environments() {
    let c = clusters(1).await;
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let ends_at = kubelab::Clock::system().now() + 3;
    let body = json!({
        "title": "Short class",
        "lesson": "pod-connectivity",
        "tasks": ["deploy-two-pods"],
        "ends_at": ends_at,
        "provider": {"kind": "kubernetes", "kubeconfig": c.dir.path().join("management.yaml"), "warm": 1},
    });
    let reply = send_json(
        &app,
        Method::POST,
        "/api/v1/workshops",
        &instructor,
        &body.to_string(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.json()["id"].as_i64().unwrap();
    // The warm pool's environment is made before anyone joins ...
    let pod = new_pod(&c.management, id, &[]).await;
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    // ... and deleted once the workshop has ended.
    let namespace = format!("kubelab-ws-{id}");
    for _ in 0..150 {
        if c.management
            .get("v1", "Pod", Some(&namespace), &name)
            .is_none()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the environment of an ended workshop is still there");
}

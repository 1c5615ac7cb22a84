//! Live re-checks over SSE: a verdict on connect, a new one when the cluster changes, and
//! shared watchers that stop when nobody listens.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::fake::*;
use crate::support::request;

/// Reads SSE events (name, data) from a streaming body.
struct Events {
    body: Body,
    buffer: String,
}

impl Events {
    async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                    }
                }
                if name.is_empty() && data.is_empty() {
                    continue; // a keep-alive comment
                }
                return (name, data.join("\n"));
            }
            let frame = tokio::time::timeout(Duration::from_secs(20), self.body.frame())
                .await
                .expect("an event within 20 s")
                .expect("the stream is open")
                .unwrap();
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    async fn verdict(&mut self) -> String {
        loop {
            let (name, data) = self.next().await;
            if name == "verdict" {
                return data;
            }
        }
    }
}

async fn open(env: &Env, cookie: &str, task: &str) -> Events {
    let response = env
        .app
        .router
        .clone()
        .oneshot(
            request(Method::GET, &format!("/tasks/{task}/live"))
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Events {
        body: response.into_body(),
        buffer: String::new(),
    }
}

fn criterion_status(html: &str, id: &str) -> String {
    let marker = format!("\" data-criterion=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    let start = html[..at].rfind("status-").unwrap() + "status-".len();
    html[start..at].to_string()
}

#[tokio::test]
async fn the_verdict_follows_the_cluster() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let mut events = open(&env, &cookie, "deploy-two-pods").await;
    let first = events.verdict().await;
    assert_eq!(criterion_status(&first, "namespace-test"), "failed");
    assert!(first.contains("0 / 11 points"));

    namespace_test(&env.fake);
    let second = events.verdict().await;
    assert_eq!(
        criterion_status(&second, "namespace-test"),
        "passed",
        "{second}"
    );
    assert!(second.contains("1 / 11 points"));

    running_nginx(&env.fake, "pod1", "10.244.1.2");
    running_nginx(&env.fake, "pod2", "10.244.1.3");
    pod1_reaches_pod2(&env.fake);
    let mut latest = events.verdict().await;
    while !latest.contains("11 / 11 points") {
        latest = events.verdict().await;
    }
    assert!(latest.contains("every criterion passes"));
    let progress = env
        .app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    assert_eq!(
        progress["lessons"][0]["tasks"][0]["best_score"], 11,
        "live runs are stored"
    );
}

#[tokio::test]
async fn watches_are_shared_and_end_with_the_last_page() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let mut pages = Vec::new();
    for _ in 0..5 {
        let mut events = open(&env, &cookie, "deploy-two-pods").await;
        events.verdict().await;
        pages.push(events);
    }
    // deploy-two-pods reads namespaces, pods, their events and the nodes (their pod ranges):
    // four watchers for five pages.
    assert_eq!(env.app.state.service.watches().active(), 4);
    let watch_lists = env
        .fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/pods" && !r.query.contains("watch=true"))
        .count();
    assert_eq!(watch_lists, 1, "one pod watcher for all pages");

    drop(pages);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while env.app.state.service.watches().active() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "watchers stop once no page listens"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn pending_criteria_are_rechecked_without_changes() {
    let env = env().await;
    nodes(&env.fake, true);
    env.fake.apply(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "multi"}, "status": {"phase": "Active"}}));
    // The fixed pod's sidecar has run 20 s of the 30 s required: pending, then passed.
    env.fake.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "multi-container", "namespace": "multi", "creationTimestamp": ago(30)},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
                                {"name": "sidecar", "image": "redis:7", "ports": [{"containerPort": 6379}]}]},
        "status": {"phase": "Running", "podIP": "10.244.1.9", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "image": "nginx:1.25", "imageID": "", "state": {"running": {"startedAt": ago(25)}}},
                {"name": "sidecar", "ready": true, "restartCount": 0, "image": "redis:7", "imageID": "", "state": {"running": {"startedAt": ago(24)}}}]}
    }));
    let cookie = env.app.learner().await;
    let mut events = open(&env, &cookie, "fix-port-conflict").await;
    let first = events.verdict().await;
    assert_eq!(
        criterion_status(&first, "sidecar-stable"),
        "pending",
        "{first}"
    );
    // Re-checked every few seconds while pending, with no change in the cluster at all.
    let mut next = events.verdict().await;
    for _ in 0..3 {
        if criterion_status(&next, "sidecar-stable") == "passed" {
            break;
        }
        next = events.verdict().await;
    }
    assert_eq!(
        criterion_status(&next, "sidecar-stable"),
        "passed",
        "{next}"
    );
}

//! Cluster status, context switching and the header badge, against the fake API server.

use axum::body::Body;
use axum::http::{Method, StatusCode};

use crate::fake::*;
use crate::support::request;

#[tokio::test]
async fn the_cluster_api_reports_version_nodes_and_cni() {
    let env = env().await;
    nodes(&env.fake, false);
    let cookie = env.app.learner().await;
    let body = env
        .app
        .call(Method::GET, "/api/v1/cluster", &cookie)
        .await
        .json();
    assert_eq!(body["context"], "kind-kubelab");
    assert_eq!(body["contexts"], serde_json::json!(["kind-kubelab"]));
    let status = &body["status"];
    assert_eq!(status["reachable"], true);
    assert_eq!(status["nodes"], 2);
    assert_eq!(status["ready_nodes"], 0);
    assert_eq!(status["cni"]["name"], "none");

    nodes(&env.fake, true);
    flannel(&env.fake, 2);
    let body = env
        .app
        .call(Method::GET, "/api/v1/cluster", &cookie)
        .await
        .json();
    assert_eq!(body["status"]["ready_nodes"], 2);
    assert_eq!(
        body["status"]["cni"],
        serde_json::json!({"name": "flannel", "namespace": "kube-flannel"})
    );

    let page = env.app.get("/cluster", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Pod network: Flannel, in namespace <code>kube-flannel</code>")
    );
    assert!(page.body.contains("cluster-badge cluster-ok"));
}

#[tokio::test]
async fn pages_never_wait_for_the_cluster() {
    let env = env().await;
    env.fake.inject(fake_apiserver::Fault::delay(
        "/version",
        std::time::Duration::from_secs(30),
    ));
    let started = std::time::Instant::now();
    let page = env.app.get("/lessons/pod-connectivity", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "the page did not wait for the cluster"
    );
    assert!(page.body.contains("kind-kubelab: checking…"));
}

#[tokio::test]
async fn a_learner_switches_context_and_the_binding_is_stored() {
    let env = env().await;
    nodes(&env.fake, true);
    // A second context appears in the kubeconfig while the server runs.
    let second = fake_apiserver::FakeCluster::new();
    let second_server = second.start().await.unwrap();
    let mut text = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let extra = second.kubeconfig(&second_server, "kind-other");
    let pick = |section: &str, doc: &str| -> String {
        let start = doc.find(&format!("{section}:\n")).unwrap() + section.len() + 2;
        doc[start..]
            .lines()
            .take_while(|l| l.starts_with('-') || l.starts_with(' '))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    for section in ["clusters", "users", "contexts"] {
        let entries = pick(section, &extra);
        let marker = format!("{section}:\n");
        text = text.replacen(&marker, &format!("{marker}{entries}"), 1);
    }
    std::fs::write(&env.kubeconfig, text).unwrap();

    let cookie = env.app.learner().await;
    let body = env
        .app
        .call(Method::GET, "/api/v1/cluster", &cookie)
        .await
        .json();
    assert_eq!(body["contexts"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(
        body["context"], "kind-kubelab",
        "the kubeconfig's current context is the default"
    );

    let put = |context: &str| {
        request(Method::PUT, "/api/v1/cluster/context")
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(Body::from(format!(r#"{{"context": "{context}"}}"#)))
            .unwrap()
    };
    let reply = env.app.send(put("kind-other")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["context"], "kind-other");
    assert_eq!(
        reply.json()["status"]["nodes"],
        0,
        "the other cluster has no nodes"
    );
    let reply = env.app.send(put("kind-nowhere")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not one of the contexts")
    );

    // Checks now run against the chosen cluster.
    let verdict = env
        .app
        .call(Method::POST, "/api/v1/tasks/deploy-two-pods/check", &cookie)
        .await
        .json();
    assert!(verdict["criteria"].to_string().contains("no nodes") || verdict["score"] == 0);
    assert!(
        second
            .requests()
            .iter()
            .any(|r| r.path.contains("/namespaces/test")),
        "the check went to the chosen cluster"
    );
}

//! The JSON API through the router.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{request, test_app};

#[tokio::test]
async fn lessons_lists_sections_and_tasks_with_stable_ids() {
    let app = test_app().await;
    let body = app.get("/api/v1/lessons", None).await.json();
    let lesson = &body["lessons"][0];
    assert_eq!(lesson["id"], "pod-connectivity");
    let sections: Vec<&str> = lesson["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(sections[0], "theory");
    assert_eq!(sections[1], "key-concepts");
    assert_eq!(sections[2], "configuration-examples");
    assert_eq!(sections.len(), 11);
    let tasks: Vec<(&str, u64)> = lesson["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["minutes"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        tasks,
        vec![
            ("deploy-two-pods", 7),
            ("pods-across-nodes", 8),
            ("install-flannel", 8),
            ("intra-pod-localhost", 6),
            ("fix-missing-cni", 7),
            ("fix-port-conflict", 6),
        ]
    );
}

#[tokio::test]
async fn completing_and_undoing_a_section() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let progress = app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    let lesson = &progress["lessons"][0];
    assert!(
        lesson["sections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["done"] == false)
    );
    assert_eq!(
        lesson["sections"][0],
        json!({"id": "theory", "done": false})
    );
    assert_eq!(lesson["tasks"][0]["best_score"], serde_json::Value::Null);

    let path = "/api/v1/lessons/pod-connectivity/sections/key-concepts/complete";
    for _ in 0..2 {
        let reply = app.call(Method::POST, path, &cookie).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.json(),
            json!({"lesson": "pod-connectivity", "section": "key-concepts", "done": true})
        );
    }
    let progress = app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    let section = &progress["lessons"][0]["sections"][1];
    assert_eq!(section["id"], "key-concepts");
    assert_eq!(section["done"], true);

    let reply = app.call(Method::DELETE, path, &cookie).await;
    assert_eq!(reply.json()["done"], false);
    let progress = app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    assert_eq!(progress["lessons"][0]["sections"][1]["done"], false);
}

#[tokio::test]
async fn unknown_lesson_or_section_is_a_json_404() {
    let app = test_app().await;
    let cookie = app.learner().await;
    for path in [
        "/api/v1/lessons/nope/sections/theory/complete",
        "/api/v1/lessons/pod-connectivity/sections/nope/complete",
    ] {
        let reply = app.call(Method::POST, path, &cookie).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.json()["error"]["status"], 404);
    }
    let progress = app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    assert!(
        progress["lessons"][0]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["done"] == false)
    );
}

#[tokio::test]
async fn learners_do_not_see_each_others_progress() {
    let app = test_app().await;
    let ada = app.learner().await;
    let bob = app.learner().await;
    assert_ne!(ada, bob);
    app.call(
        Method::POST,
        "/api/v1/lessons/pod-connectivity/sections/theory/complete",
        &ada,
    )
    .await;
    let bobs = app.call(Method::GET, "/api/v1/progress", &bob).await.json();
    assert_eq!(bobs["lessons"][0]["sections"][0]["done"], false);
    let adas = app.call(Method::GET, "/api/v1/progress", &ada).await.json();
    assert_eq!(adas["lessons"][0]["sections"][0]["done"], true);
}

#[tokio::test]
async fn a_forged_or_malformed_cookie_gets_a_fresh_identity() {
    let app = test_app().await;
    let reply = app
        .get("/api/v1/progress", Some("kubelab_learner=../../etc"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.cookie().is_some(),
        "a new, valid cookie replaces the junk"
    );
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
}

#[tokio::test]
async fn export_is_a_download_with_timestamps() {
    let app = test_app().await;
    let cookie = app.learner().await;
    app.call(
        Method::POST,
        "/api/v1/lessons/pod-connectivity/sections/theory/complete",
        &cookie,
    )
    .await;
    let reply = app
        .call(Method::GET, "/api/v1/progress/export", &cookie)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let body = reply.json();
    assert_eq!(body["format"], "kubelab-progress/1");
    assert_eq!(body["content_digest"].as_str().unwrap().len(), 64);
    let theory = &body["lessons"][0]["sections"][0];
    assert_eq!(theory["done"], true);
    assert!(theory["done_at"].as_i64().unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn display_name_via_api_is_validated() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let put = |body: &str| {
        request(Method::PUT, "/api/v1/learner")
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let reply = app.send(put(r#"{"display_name": "  Grace  "}"#)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["display_name"], "Grace");
    let reply = app
        .send(put(&format!(r#"{{"display_name": "{}"}}"#, "x".repeat(61))))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 60")
    );
    let reply = app.send(put(r#"{"name": "typo"}"#)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = app.send(put("not json")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let me = app
        .call(Method::GET, "/api/v1/learner", &cookie)
        .await
        .json();
    assert_eq!(me["display_name"], "Grace");
    let progress = app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    assert_eq!(progress["display_name"], "Grace");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let huge = format!(r#"{{"display_name": "{}"}}"#, "x".repeat(64 * 1024));
    let reply = app
        .send(
            request(Method::PUT, "/api/v1/learner")
                .header("cookie", &cookie)
                .header("content-type", "application/json")
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

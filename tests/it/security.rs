//! Host allow-list, cross-site protection, security headers, panics and sanitizing.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use kubelab::CONTENT_SECURITY_POLICY;
use kubelab::ContentFiles;
use kubelab::Store;
use kubelab::{AllowedHosts, AppState};

use crate::support::{request, test_app};

const COMPLETE: &str = "/api/v1/lessons/pod-connectivity/sections/theory/complete";

#[tokio::test]
async fn foreign_hosts_are_refused() {
    let app = test_app().await;
    let with_host = |host: &str| {
        Request::builder()
            .uri("/")
            .header("host", host)
            .body(Body::empty())
            .unwrap()
    };
    for host in [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
        "127.0.0.2",
    ] {
        let reply = app.send(with_host(host)).await;
        assert_eq!(reply.status, StatusCode::MISDIRECTED_REQUEST, "{host}");
        assert!(
            reply.body.contains("--allow-host"),
            "{host}: says how to allow it"
        );
    }
    let reply = app
        .send(Request::builder().uri("/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "no Host at all");
    let twice = Request::builder()
        .uri("/")
        .header("host", "localhost")
        .header("host", "evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send(twice).await.status,
        StatusCode::BAD_REQUEST,
        "two Host headers"
    );
    for host in ["localhost", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST:1"] {
        let reply = app.send(with_host(host)).await;
        assert_eq!(reply.status, StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn allow_host_admits_a_workshop_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("k.db")).await.unwrap();
    let catalogue = kubelab::load_content(&ContentFiles::embedded()).unwrap();
    let state = AppState::new(
        catalogue,
        store.clone(),
        AllowedHosts::loopback_and(["lab.example".to_string()]),
        crate::support::no_cluster(),
    );
    let app = crate::support::TestApp {
        router: kubelab::app(state.clone()),
        state,
        store,
        dir,
    };
    let reply = app
        .send(
            Request::builder()
                .uri("/")
                .header("host", "lab.example:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let post = |headers: &[(&str, &str)]| {
        let mut builder = request(Method::POST, COMPLETE).header("cookie", &cookie);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    };
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "http://evil.example")][..],
        &[("origin", "null")][..],
        &[("origin", "http://localhost:9999")][..],
    ] {
        let reply = app.send(post(headers)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cross-site")
        );
    }
    let progress = app
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    assert_eq!(
        progress["lessons"][0]["sections"][0]["done"], false,
        "nothing was written"
    );

    for headers in [
        &[("sec-fetch-site", "same-origin")][..],
        &[("sec-fetch-site", "none")][..],
        &[("origin", "http://localhost:8080")][..],
        &[][..],
    ] {
        let reply = app.send(post(headers)).await;
        assert_eq!(reply.status, StatusCode::OK, "{headers:?}");
    }
    // Reads are never refused for their origin.
    let reply = app
        .send(
            request(Method::GET, "/api/v1/progress")
                .header("cookie", &cookie)
                .header("sec-fetch-site", "cross-site")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_the_csp() {
    let app = test_app().await;
    for path in [
        "/",
        "/lessons/pod-connectivity",
        "/nope",
        "/api/v1/lessons",
        "/static/css/kubelab.css",
    ] {
        let reply = app.get(path, None).await;
        assert_eq!(
            reply.headers["content-security-policy"], CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{path}");
    }
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self'"));
    assert!(CONTENT_SECURITY_POLICY.contains("style-src 'self'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
}

#[tokio::test]
async fn a_panic_becomes_a_logged_500_page() {
    let app = test_app().await;
    let routes: Router<AppState> = Router::new().route(
        "/boom",
        get(|| async {
            let items: Vec<u8> = Vec::new();
            #[allow(clippy::indexing_slicing)]
            let _ = items[3];
            "unreachable"
        }),
    );
    let router = kubelab::harden(routes, app.state.clone());
    let response = tower::ServiceExt::oneshot(
        router,
        request(Method::GET, "/boom").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().contains_key("content-security-policy"));
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("Something went wrong"), "{body}");
    assert!(
        !body.contains("index out of bounds"),
        "internals stay in the log"
    );
}

#[tokio::test]
async fn markdown_from_content_cannot_inject_script() {
    let dir = crate::lint::fixture();
    let section = dir.path().join("lessons/demo/sections/more.md");
    std::fs::write(
        &section,
        "### More\n\n<script>alert(1)</script>\n\n<a href=\"javascript:alert(2)\" onclick=\"x()\">x</a>\n\n<img src=x onerror=alert(3)>\n\n<style>body{}</style>\n",
    )
    .unwrap();
    let catalogue = kubelab::load_content(&ContentFiles::from_dir(dir.path()).unwrap()).unwrap();
    let db = tempfile::tempdir().unwrap();
    let store = Store::open(&db.path().join("k.db")).await.unwrap();
    let state = AppState::new(
        catalogue,
        store.clone(),
        AllowedHosts::loopback_and(Vec::new()),
        crate::support::no_cluster(),
    );
    let app = crate::support::TestApp {
        router: kubelab::app(state.clone()),
        state,
        store,
        dir: db,
    };
    let reply = app.get("/lessons/demo", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    for bad in [
        "<script>",
        "alert(",
        "javascript:",
        "onclick",
        "onerror",
        "<style",
    ] {
        assert!(!reply.body.contains(bad), "{bad} survived: {}", reply.body);
    }
}

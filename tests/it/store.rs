//! Durability: progress survives a restart; a locked database gives a clear error.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use kubelab::Store;
use sqlx::Connection;

use crate::support::{app_on, test_app};

#[tokio::test]
async fn progress_survives_a_new_app_on_the_same_file() {
    let first = test_app().await;
    let cookie = first.learner().await;
    let path = "/api/v1/lessons/pod-connectivity/sections/procedures/complete";
    assert_eq!(
        first.call(Method::POST, path, &cookie).await.status,
        StatusCode::OK
    );
    let dir = first.dir;
    // No close, no shutdown: like a kill -9, the committed write must already be on disk.
    drop(first.router);
    drop(first.state);
    let store = Store::open(&dir.path().join("kubelab.db")).await.unwrap();
    let second = app_on(store, dir);
    let progress = second
        .call(Method::GET, "/api/v1/progress", &cookie)
        .await
        .json();
    let procedures = progress["lessons"][0]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "procedures")
        .unwrap()
        .clone();
    assert_eq!(procedures["done"], true);
}

#[tokio::test]
async fn a_locked_database_is_a_clear_503_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kubelab.db");
    let store = Store::open_with_busy_timeout(&file, Duration::from_millis(200))
        .await
        .unwrap();
    let app = app_on(store, dir);
    let cookie = app.learner().await;
    let mut holder = sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let reply = app
        .call(
            Method::POST,
            "/api/v1/lessons/pod-connectivity/sections/theory/complete",
            &cookie,
        )
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("busy")
    );
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    let reply = app
        .call(
            Method::POST,
            "/api/v1/lessons/pod-connectivity/sections/theory/complete",
            &cookie,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "works again once the lock is gone"
    );
}

#[tokio::test]
async fn reopening_runs_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/folder/kubelab.db");
    Store::open(&file).await.unwrap().close().await;
    let store = Store::open(&file).await.unwrap();
    store.ping().await.unwrap();
}

//! Timed practice of one task: the server's clock, setup at start, the final check at finish,
//! history, and survival across restarts.

use axum::http::{Method, StatusCode};
use kubelab::Store;

use crate::fake::*;

#[tokio::test]
async fn start_finish_and_history() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let started = env
        .app
        .call(
            Method::POST,
            "/api/v1/tasks/intra-pod-localhost/practice",
            &cookie,
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let started = started.json();
    assert_eq!(started["setup_ok"], true, "{started:#}");
    assert!(
        started["setup_detail"]
            .as_str()
            .unwrap()
            .contains("Namespace multi"),
        "setup ran"
    );
    let remaining = started["remaining_seconds"].as_i64().unwrap();
    assert!((355..=360).contains(&remaining), "6 minutes: {remaining}");
    assert_eq!(
        started["deadline_at"].as_i64().unwrap() - started["started_at"].as_i64().unwrap(),
        360
    );

    let again = env
        .app
        .call(
            Method::POST,
            "/api/v1/tasks/intra-pod-localhost/practice",
            &cookie,
        )
        .await
        .json();
    assert_eq!(
        again["id"], started["id"],
        "a second start joins the running clock"
    );

    let page = env
        .app
        .get("/tasks/intra-pod-localhost", Some(&cookie))
        .await
        .body;
    assert!(
        page.contains(&format!("data-deadline=\"{}\"", started["deadline_at"])),
        "the countdown comes from the server"
    );

    multi_container(&env.fake, "redis:7", 6379, false);
    env.fake.script_exec(
        fake_apiserver::ExecRule::new("multi", "multi-container", kubelab::probe::redis_ping(6379))
            .container("app")
            .stdout("+PONG\r\n"),
    );
    env.fake.script_exec(
        fake_apiserver::ExecRule::new(
            "multi",
            "multi-container",
            kubelab::probe::http("127.0.0.1", 80),
        )
        .container("sidecar")
        .stdout("HTTP/1.1 200 OK\r\n"),
    );
    let finished = env
        .app
        .call(
            Method::POST,
            "/api/v1/tasks/intra-pod-localhost/practice/finish",
            &cookie,
        )
        .await
        .json();
    assert_eq!(finished["score"], 8, "{finished:#}");
    assert_eq!(finished["passed"], true);
    assert!(finished["seconds_used"].as_i64().unwrap() <= 5);

    let twice = env
        .app
        .call(
            Method::POST,
            "/api/v1/tasks/intra-pod-localhost/practice/finish",
            &cookie,
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(
        twice.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("start one first")
    );

    let practice = env
        .app
        .call(
            Method::GET,
            "/api/v1/tasks/intra-pod-localhost/practice",
            &cookie,
        )
        .await
        .json();
    assert!(practice["open"].is_null());
    assert_eq!(practice["history"].as_array().unwrap().len(), 1);
    assert_eq!(practice["best_score"], 8);
    let page = env
        .app
        .get("/tasks/intra-pod-localhost", Some(&cookie))
        .await
        .body;
    assert!(page.contains("Best: 8/8"), "{page}");
}

#[tokio::test]
async fn a_running_clock_survives_a_restart_and_a_broken_cluster() {
    let env = env().await;
    let Env { server, app, .. } = env;
    server.shutdown().await;
    let cookie = app.learner().await;
    let started = app
        .call(
            Method::POST,
            "/api/v1/tasks/fix-port-conflict/practice",
            &cookie,
        )
        .await
        .json();
    assert_eq!(
        started["setup_ok"], false,
        "the cluster is down: the clock still starts, and says so"
    );
    assert!(
        started["setup_detail"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{started:#}"
    );

    let dir = app.dir;
    drop(app.router);
    drop(app.state);
    let store = Store::open(&dir.path().join("kubelab.db")).await.unwrap();
    let again = crate::support::app_on(store, dir);
    let practice = again
        .call(
            Method::GET,
            "/api/v1/tasks/fix-port-conflict/practice",
            &cookie,
        )
        .await
        .json();
    assert_eq!(practice["open"]["id"], started["id"]);
    assert_eq!(practice["open"]["deadline_at"], started["deadline_at"]);
}

#[tokio::test]
async fn unknown_tasks_and_finishing_nothing_are_clear_errors() {
    let env = env().await;
    let cookie = env.app.learner().await;
    assert_eq!(
        env.app
            .call(Method::POST, "/api/v1/tasks/nope/practice", &cookie)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let reply = env
        .app
        .call(
            Method::POST,
            "/api/v1/tasks/deploy-two-pods/practice/finish",
            &cookie,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

//! The browser terminal's server side against a simulated kind cluster without a pod network:
//! the toolbox Pod (host network, every taint tolerated) is made on first use with visible
//! steps, the WebSocket relays keystrokes, output and resizes through kube-rs exec with a TTY,
//! a reconnect reaches the same shell, and everything the issue refuses is refused before the
//! upgrade.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use fake_apiserver::FakeCluster;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::fake::Env;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

use crate::fake::served_simulated as served;

async fn ticket(env: &Env, cookie: &str) -> String {
    let reply = env
        .app
        .call(Method::POST, "/api/v1/terminal/ticket", cookie)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["url"].as_str().unwrap().to_string()
}

pub(crate) async fn connect(
    addr: &str,
    url: &str,
    cookie: &str,
    origin: &str,
) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}{url}").into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("cookie", cookie.parse().unwrap());
    headers.insert("origin", origin.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{other}"),
    }
}

/// Reads frames until the shell's output contains `needle` (text frames are collected too).
async fn read_until(socket: &mut Socket, needle: &str) -> (String, Vec<Value>) {
    let mut out = String::new();
    let mut control = Vec::new();
    while !out.contains(needle) {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no `{needle}` within 30 s: {out:?} {control:?}"))
            .expect("the socket stays open")
            .unwrap();
        match frame {
            Message::Binary(bytes) => out.push_str(&String::from_utf8_lossy(&bytes)),
            Message::Text(text) => control.push(serde_json::from_str(&text).unwrap()),
            Message::Close(_) => panic!("closed before `{needle}`: {out:?} {control:?}"),
            _ => {}
        }
    }
    (out, control)
}

/// The next control message that has `key` (at most 15 s away), its value.
async fn control(socket: &mut Socket, key: &str) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no `{key}` message within 15 s"))
            .expect("a frame")
            .unwrap();
        if let Message::Text(text) = frame {
            let mut v: Value = serde_json::from_str(&text).unwrap();
            if !v[key].is_null() {
                return v[key].take();
            }
        }
    }
}

async fn type_line(socket: &mut Socket, line: &str) {
    socket
        .send(Message::Binary(format!("{line}\r").into_bytes().into()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_into_the_learners_own_cluster() {
    let (env, addr) = served().await;
    let origin = format!("http://{addr}");
    let cookie = env.app.learner().await;

    let url = ticket(&env, &cookie).await;
    let mut socket = connect(&addr, &url, &cookie, &origin).await.unwrap();
    let (prompt, control) = read_until(&mut socket, "$ ").await;
    assert!(prompt.ends_with("$ "));
    assert!(
        control.iter().any(|c| c["status"].is_string()),
        "the toolbox's start is shown: {control:?}"
    );
    assert!(control.iter().any(|c| c["ready"] == true), "{control:?}");

    // The toolbox: its own namespace, host network, every taint tolerated (the nodes have no
    // CNI and are NotReady), cluster-admin through its ServiceAccount.
    let pods = env.fake.list("v1", "Pod");
    let toolbox = pods
        .iter()
        .find(|p| p["metadata"]["namespace"] == "kubelab-system")
        .expect("a toolbox Pod");
    assert_eq!(toolbox["spec"]["hostNetwork"], true);
    assert_eq!(toolbox["status"]["phase"], "Running", "{toolbox:#}");
    let name = toolbox["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        env.fake
            .get(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                None,
                "kubelab-toolbox"
            )
            .is_some()
    );

    // Keystrokes in, output out; a resize reaches the cluster's exec stream.
    socket
        .send(Message::Text(r#"{"resize": [100, 30]}"#.into()))
        .await
        .unwrap();
    type_line(&mut socket, "echo hello from the browser").await;
    read_until(&mut socket, "hello from the browser\r\n").await;
    type_line(&mut socket, "stty size").await;
    read_until(&mut socket, "30 100\r\n").await;
    assert!(
        env.fake
            .terminal_sizes()
            .iter()
            .any(|(pod, size)| pod.ends_with(&name) && size.width == 100 && size.height == 30)
    );

    // A reload: a new ticket reaches the same toolbox and shell history.
    socket.close(None).await.unwrap();
    let url = ticket(&env, &cookie).await;
    let mut again = connect(&addr, &url, &cookie, &origin).await.unwrap();
    read_until(&mut again, "$ ").await;
    type_line(&mut again, "history").await;
    read_until(&mut again, "echo hello from the browser").await;
    assert_eq!(
        env.fake
            .list("v1", "Pod")
            .iter()
            .filter(|p| p["metadata"]["namespace"] == "kubelab-system")
            .count(),
        1,
        "one toolbox per learner"
    );

    // A task's reset leaves kubelab-system alone.
    let reset = env
        .app
        .call(Method::POST, "/api/v1/tasks/install-flannel/reset", &cookie)
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert!(
        env.fake
            .get("v1", "Pod", Some("kubelab-system"), &name)
            .is_some()
    );
    type_line(&mut again, "exit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_refuses_before_the_upgrade() {
    let (env, addr) = served().await;
    let origin = format!("http://{addr}");
    let ada = env.app.learner().await;
    let brian = env.app.learner().await;

    // No ticket, an unknown one.
    assert_eq!(
        connect(&addr, "/terminal/ws", &ada, &origin).await.err(),
        Some(401)
    );
    assert_eq!(
        connect(&addr, "/terminal/ws?ticket=0123", &ada, &origin)
            .await
            .err(),
        Some(401)
    );
    // Another site's page.
    let url = ticket(&env, &ada).await;
    assert_eq!(
        connect(&addr, &url, &ada, "http://evil.example")
            .await
            .err(),
        Some(403)
    );
    // Someone else's ticket.
    let url = ticket(&env, &ada).await;
    assert_eq!(connect(&addr, &url, &brian, &origin).await.err(), Some(403));
    // A ticket works once.
    let url = ticket(&env, &ada).await;
    let socket = connect(&addr, &url, &ada, &origin).await;
    assert!(socket.is_ok());
    assert_eq!(connect(&addr, &url, &ada, &origin).await.err(), Some(401));
    // A ticket for an exam attempt that is not running is refused.
    let refused = crate::exams::send_json(
        &env.app,
        Method::POST,
        "/api/v1/terminal/ticket",
        &ada,
        r#"{"attempt": 99}"#,
    )
    .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
}

/// An instructor watches a workshop learner's terminal read-only; the learner is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instructor_watches_a_learners_terminal() {
    use crate::workshops::{SECRET, app_with, instructor_cookie, sign_in};
    let fake = FakeCluster::new();
    fake.simulate_kind("kubelab", 1);
    let server = fake.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("learner-1.yaml"),
        fake.kubeconfig(&server, "kind-kubelab"),
    )
    .unwrap();
    let app = app_with(kubelab::InstructorGate::reusable(SECRET.into())).await;
    let instructor = instructor_cookie(&sign_in(&app, SECRET).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let origin = format!("http://{addr}");
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let body = serde_json::json!({"title": "Watched", "lesson": "pod-connectivity",
        "provider": {"kind": "kubeconfigs", "dir": dir.path()}})
    .to_string();
    let created =
        crate::exams::send_json(&app, Method::POST, "/api/v1/workshops", &instructor, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let (id, code) = {
        let c = created.json();
        (
            c["id"].as_i64().unwrap(),
            c["code"].as_str().unwrap().to_string(),
        )
    };
    let ada = app.learner().await;
    let join = serde_json::json!({"code": code, "display_name": "Ada"}).to_string();
    let joined = crate::exams::send_json(&app, Method::POST, "/api/v1/join", &ada, &join).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);

    let url = app
        .call(Method::POST, "/api/v1/terminal/ticket", &ada)
        .await
        .json()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let mut learner = connect(&addr, &url, &ada, &origin).await.unwrap();
    read_until(&mut learner, "$ ").await;
    // Her toolbox is on her workshop cluster.
    assert!(
        fake.list("v1", "Pod")
            .iter()
            .any(|p| p["metadata"]["namespace"] == "kubelab-system")
    );

    let roster = app
        .call(Method::GET, &format!("/api/v1/workshops/{id}"), &instructor)
        .await
        .json();
    let key = roster["learners"][0]["key"].as_str().unwrap();
    // Learners cannot ask for a watch ticket.
    let watch_path = format!("/api/v1/workshops/{id}/learners/{key}/terminal/ticket");
    assert_eq!(
        app.call(Method::POST, &watch_path, &ada).await.status,
        StatusCode::NOT_FOUND
    );
    let watch = app.call(Method::POST, &watch_path, &instructor).await;
    assert_eq!(watch.status, StatusCode::OK, "{}", watch.body);
    let watch_url = watch.json()["url"].as_str().unwrap().to_string();
    // The instructor socket needs the instructor's session.
    assert_eq!(
        connect(&addr, &watch_url, &ada, &origin).await.err(),
        Some(404)
    );
    let watch = app.call(Method::POST, &watch_path, &instructor).await;
    let watch_url = watch.json()["url"].as_str().unwrap().to_string();
    let mut watcher = connect(&addr, &watch_url, &instructor, &origin)
        .await
        .unwrap();
    read_until(&mut watcher, "$ ").await;
    assert_eq!(control(&mut learner, "watching").await, 1);
    // What the watcher types goes nowhere.
    type_line(&mut watcher, "echo from the instructor").await;
    type_line(&mut learner, "echo from the learner").await;
    let (seen, _) = read_until(&mut learner, "from the learner\r\n").await;
    assert!(!seen.contains("from the instructor"), "{seen:?}");
}

/// An exam's terminal closes when the attempt ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exam_terminal_closes_with_its_attempt() {
    let (env, addr) = served().await;
    let origin = format!("http://{addr}");
    let cookie = env.app.learner().await;
    let id = crate::exams::start_running(&env.app, &cookie).await;
    let exam_ticket = || async {
        let body = serde_json::json!({"attempt": id}).to_string();
        crate::exams::send_json(
            &env.app,
            Method::POST,
            "/api/v1/terminal/ticket",
            &cookie,
            &body,
        )
        .await
    };
    let reply = exam_ticket().await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let url = reply.json()["url"].as_str().unwrap().to_string();
    let mut socket = connect(&addr, &url, &cookie, &origin).await.unwrap();
    read_until(&mut socket, "$ ").await;
    // The exam view offers the terminal, tied to the attempt.
    let view = env
        .app
        .get(&format!("/exams/attempts/{id}"), Some(&cookie))
        .await
        .body;
    assert!(
        view.contains(&format!(
            "data-terminal=\"/api/v1/terminal/ticket\" data-attempt=\"{id}\""
        )),
        "{view}"
    );
    let submitted = env
        .app
        .call(
            Method::POST,
            &format!("/api/v1/exam-attempts/{id}/submit"),
            &cookie,
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    let closed = control(&mut socket, "closed").await;
    assert!(
        closed.as_str().unwrap().contains("exam attempt ended"),
        "{closed}"
    );
    // And no new ticket for it.
    let again = exam_ticket().await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
}

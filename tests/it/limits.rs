//! A server exposed to a class: connection and header limits, bodies refused before they
//! arrive, one error format, bounded new learners, exams that cannot be doubled up, and a
//! shutdown that does not wait for open streams.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};

use crate::fake::{env, nodes};
use crate::support::{request, test_app};

async fn served(
    limits: kubelab::Limits,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let app = test_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _dir = app.dir;
        let _ = kubelab::serve_with_limits(listener, app.router, limits, async {
            let _ = stopped.await;
        })
        .await;
    });
    (addr, stop)
}

/// Reads until the peer closes (or `within` passes); what arrived and whether it closed.
fn read_to_close(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&all).into_owned(), true),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&all).into_owned(), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_and_idle_connections_are_closed() {
    let (addr, _stop) = served(kubelab::Limits {
        header_read_timeout: Duration::from_secs(1),
        ..kubelab::Limits::default()
    })
    .await;
    let (half, idle) = tokio::task::spawn_blocking(move || {
        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            .unwrap();
        let started = Instant::now();
        let (_, closed) = read_to_close(&mut half, Duration::from_secs(5));
        let half = (closed, started.elapsed());
        let mut idle = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        let (_, closed) = read_to_close(&mut idle, Duration::from_secs(5));
        (half, (closed, started.elapsed()))
    })
    .await
    .unwrap();
    assert!(
        half.0 && half.1 < Duration::from_secs(3),
        "half-sent request: {half:?}"
    );
    assert!(
        idle.0 && idle.1 < Duration::from_secs(3),
        "idle connection: {idle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_get_a_clear_503() {
    let (addr, _stop) = served(kubelab::Limits {
        max_connections: 2,
        ..kubelab::Limits::default()
    })
    .await;
    let reply = tokio::task::spawn_blocking(move || {
        let _a = TcpStream::connect(addr).unwrap();
        let _b = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let mut c = TcpStream::connect(addr).unwrap();
        read_to_close(&mut c, Duration::from_secs(5))
    })
    .await
    .unwrap();
    assert!(reply.1, "closed after the answer");
    assert!(reply.0.starts_with("HTTP/1.1 503"), "{}", reply.0);
    assert!(reply.0.contains("too many open connections"), "{}", reply.0);
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_at_once() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let reply = app
        .send(
            request(Method::PUT, "/api/v1/learner")
                .header("cookie", &cookie)
                .header("content-type", "application/json")
                .header("content-length", "100000000")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["error"]["status"], 413);
}

#[tokio::test]
async fn every_api_error_is_json_and_every_page_error_html() {
    let app = test_app().await;
    let cookie = app.learner().await;
    // A path parameter that is not UTF-8.
    let bad = app
        .call(Method::POST, "/api/v1/tasks/%FF%FE/check", &cookie)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"]["status"], 400, "{}", bad.body);
    // A method the route does not take.
    let not_allowed = app.call(Method::DELETE, "/api/v1/progress", &cookie).await;
    assert_eq!(not_allowed.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        not_allowed.json()["error"]["status"],
        405,
        "{}",
        not_allowed.body
    );
    assert!(not_allowed.headers.contains_key("allow"));
    let page = app
        .call(Method::DELETE, "/lessons/pod-connectivity", &cookie)
        .await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("<html"), "{}", page.body);
}

#[tokio::test]
async fn new_learners_are_admitted_at_a_bounded_rate() {
    let app = test_app().await;
    let known = app.learner().await;
    let path = "/api/v1/lessons/pod-connectivity/sections/theory/complete";
    assert_eq!(
        app.call(Method::POST, path, &known).await.status,
        StatusCode::OK
    );
    let mut refused = None;
    for n in 0..150u64 {
        let cookie = format!("kubelab_learner={:032x}", 0xabc0_0000u64 + n);
        let reply = app.call(Method::POST, path, &cookie).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((n, reply));
            break;
        }
        assert_eq!(reply.status, StatusCode::OK);
    }
    let (n, reply) = refused.expect("a flood of invented learners is cut off");
    assert!(n >= 90, "a class joining at once fits: refused after {n}");
    assert!(reply.headers.contains_key("retry-after"));
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Too many new learners")
    );
    // Learners already known write on; reads with unknown cookies store nothing.
    assert_eq!(
        app.call(Method::POST, path, &known).await.status,
        StatusCode::OK
    );
    let stranger = "kubelab_learner=ffffffffffffffffffffffffffffffff";
    assert_eq!(
        app.call(Method::GET, "/api/v1/progress", stranger)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cross_site_origins_are_checked_with_their_scheme() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let path = "/api/v1/lessons/pod-connectivity/sections/theory/complete";
    let post = |origin: &'static str| {
        request(Method::POST, path)
            .header("cookie", &cookie)
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.send(post("http://localhost:8080")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(post("ftp://localhost:8080")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(post("https://localhost:8080")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.send(post("null")).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exam_starts_refuse_unknown_contexts_and_busy_ones() {
    let env = env().await;
    nodes(&env.fake, true);
    let exam = "/api/v1/exams/pod-connectivity-one-cluster/attempts";
    let start = |cookie: String, body: &'static str| {
        request(Method::POST, exam)
            .header("cookie", cookie)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let first = env.app.learner().await;
    let unknown = env
        .app
        .send(start(
            first.clone(),
            r#"{"contexts": {"kind-nope": "kind-kubelab"}}"#,
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::CONFLICT, "{}", unknown.body);
    assert!(
        unknown.body.contains("has no context `kind-nope`"),
        "{}",
        unknown.body
    );

    let started = env.app.send(start(first.clone(), "{}")).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let second = env.app.learner().await;
    let busy = env.app.send(start(second, "{}")).await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.body);
    assert!(
        busy.body.contains("in use by another exam"),
        "{}",
        busy.body
    );
    // The learner's own attempt is resumed, not refused.
    let again = env.app.send(start(first, "{}")).await;
    assert!(again.status.is_success(), "{}", again.body);
}

/// Ctrl-C or SIGTERM with a task page's live stream open: the server exits promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_open_streams_exits_within_seconds() {
    let env = env().await;
    nodes(&env.fake, true);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = env.app.dir.path().join("serve.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--db"])
        .arg(&db)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .env_remove("KUBELAB_CONTEXT")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let opened = tokio::task::spawn_blocking(move || {
        let mut stream = None;
        for _ in 0..100 {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                stream = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut s = stream.expect("the server listens");
        s.write_all(b"GET /tasks/deploy-two-pods/live HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        (s, String::from_utf8_lossy(&buf[..n]).into_owned())
    })
    .await
    .unwrap();
    assert!(opened.1.starts_with("HTTP/1.1 200"), "{}", opened.1);
    let started = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exit took {:?}",
        started.elapsed()
    );
    drop(opened);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_switches_are_recorded_at_most_once_a_second() {
    let env = env().await;
    nodes(&env.fake, true);
    let cookie = env.app.learner().await;
    let started = env
        .app
        .send(
            request(
                Method::POST,
                "/api/v1/exams/pod-connectivity-one-cluster/attempts",
            )
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap(),
        )
        .await
        .json();
    let id = started["id"].as_i64().unwrap();
    for _ in 0..100 {
        let state = env
            .app
            .call(Method::GET, &format!("/api/v1/exam-attempts/{id}"), &cookie)
            .await
            .json();
        if state["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let began = Instant::now();
    for n in 0..60 {
        let task = if n % 2 == 0 {
            "deploy-two-pods"
        } else {
            "fix-port-conflict"
        };
        let page = env
            .app
            .get(&format!("/exams/attempts/{id}?task={task}"), Some(&cookie))
            .await;
        assert_eq!(page.status, StatusCode::OK);
    }
    let seconds = began.elapsed().as_secs() as usize;
    let views = env.app.store.exam_views(id).await.unwrap();
    assert!(
        views.len() <= seconds + 2,
        "{} views in {seconds} s",
        views.len()
    );
    // A repeated query parameter is a page error, not plain text.
    let twice = env
        .app
        .get(
            &format!("/exams/attempts/{id}?task=a&task=b"),
            Some(&cookie),
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(twice.body.contains("<html"), "{}", twice.body);
}

//! Benchmark: the browser terminal's keystroke echo round trip through kubelab, against the
//! same round trip straight to the API server, and kubelab's memory per open terminal.
//!
//! ```text
//! cargo build --release --workspace
//! cargo run --release --example terminal_bench -- [--kubelab target/release/kubelab]
//!     [--keys 500] [--terminals 50]
//! ```
//!
//! An in-process fake API server (a simulated kind cluster, whose TTY exec is a line-echo
//! shell) stands for the cluster; `kubelab serve` runs as a child process on it. A keystroke
//! is one byte sent and its echo read back: through kubelab it is browser WebSocket →
//! kubelab → kube-rs exec → the fake and back; the baseline is kube-rs exec → the fake and
//! back, as a terminal without kubelab in the path would be. Memory is the kubelab process's
//! resident set before and after `--terminals` terminals (each a learner of their own with a
//! toolbox) are open and idle.

use std::time::{Duration, Instant};

use clap::Parser;
use fake_apiserver::FakeCluster;
use futures_util::{SinkExt, StreamExt};
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser)]
struct Args {
    /// The kubelab binary.
    #[arg(long, default_value = "target/release/kubelab")]
    kubelab: String,
    /// Keystrokes timed per path.
    #[arg(long, default_value_t = 500)]
    keys: usize,
    /// Terminals held open for the memory figure.
    #[arg(long, default_value_t = 50)]
    terminals: usize,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms over {} keystrokes",
        percentile(&times, 50.0).as_secs_f64() * 1000.0,
        percentile(&times, 99.0).as_secs_f64() * 1000.0,
        times.len()
    );
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

async fn http(addr: &str, method: &str, path: &str, cookie: Option<&str>) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("kubelab answers");
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n{cookie}Content-Length: 0\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let set_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .unwrap_or_default();
    (set_cookie, body.to_string())
}

/// A new learner with an open terminal, its prompt read.
async fn open_terminal(addr: &str) -> Socket {
    let (cookie, _) = http(addr, "GET", "/", None).await;
    let (_, body) = http(addr, "POST", "/api/v1/terminal/ticket", Some(&cookie)).await;
    let ticket: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("a ticket: {e}: {body}"));
    let url = ticket["url"]
        .as_str()
        .unwrap_or_else(|| panic!("a ticket url: {ticket}"));
    let mut request = format!("ws://{addr}{url}")
        .into_client_request()
        .expect("a request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    request
        .headers_mut()
        .insert("origin", format!("http://{addr}").parse().expect("origin"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the terminal opens");
    let mut seen = String::new();
    while !seen.contains("$ ") {
        if let Some(Ok(Message::Binary(b))) = socket.next().await {
            seen.push_str(&String::from_utf8_lossy(&b));
        }
    }
    socket
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    kubelab::install_crypto_provider();
    let fake = FakeCluster::new();
    fake.simulate_kind("kubelab", 1);
    let server = fake.start().await.expect("the fake serves");
    let dir = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig(&server, "kind-kubelab")).expect("kubeconfig");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(&args.kubelab)
        .args(["serve", "--addr", &addr, "--db"])
        .arg(dir.path().join("k.db"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubelab serve starts");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Through kubelab.
    let mut socket = open_terminal(&addr).await;
    let mut through = Vec::with_capacity(args.keys);
    for _ in 0..args.keys {
        let start = Instant::now();
        socket
            .send(Message::Binary(b"x".to_vec().into()))
            .await
            .expect("sent");
        loop {
            if let Some(Ok(Message::Binary(b))) = socket.next().await
                && b.contains(&b'x')
            {
                break;
            }
        }
        through.push(start.elapsed());
    }
    report("through kubelab (WebSocket → kubelab → exec)", through);

    // Straight to the API server.
    let source = kubelab::KubeconfigSource::file(kubeconfig.clone());
    let (client, _) = source
        .client("kind-kubelab", Duration::from_secs(300))
        .await
        .expect("a client");
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client, "kubelab-system");
    let toolbox = pods
        .list(&Default::default())
        .await
        .expect("the toolbox")
        .items
        .into_iter()
        .find_map(|p| p.metadata.name)
        .expect("a toolbox pod");
    let mut process = pods
        .exec(
            &toolbox,
            ["tmux", "attach"],
            &AttachParams::interactive_tty(),
        )
        .await
        .expect("exec");
    let mut stdin = process.stdin().expect("stdin");
    let mut stdout = process.stdout().expect("stdout");
    let mut buffer = [0u8; 1024];
    let _ = stdout.read(&mut buffer).await;
    let mut direct = Vec::with_capacity(args.keys);
    for _ in 0..args.keys {
        let start = Instant::now();
        stdin.write_all(b"x").await.expect("sent");
        loop {
            let n = stdout.read(&mut buffer).await.expect("read");
            if buffer[..n].contains(&b'x') {
                break;
            }
        }
        direct.push(start.elapsed());
    }
    report("straight to the API server (exec)", direct);

    // Memory per open terminal.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(child.id());
    let mut open = Vec::new();
    for _ in 0..args.terminals {
        open.push(open_terminal(&addr).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(child.id());
    println!(
        "kubelab resident memory: {} KiB before, {} KiB with {} more terminals open: {:.0} KiB per terminal",
        before,
        after,
        args.terminals,
        (after.saturating_sub(before)) as f64 / args.terminals as f64
    );
    drop(open);
    let _ = child.kill();
    let _ = child.wait();
}

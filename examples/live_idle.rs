//! Benchmark: what `kubelab serve` costs while many task pages hold live checks open and
//! nothing changes on the cluster.
//!
//! ```text
//! cargo run --release --example live_idle -- --fixture DIR/solved.yaml \
//!     [--kubelab target/release/kubelab] [--pages 100] [--idle 30] [--task deploy-two-pods]
//! ```
//!
//! It serves the fixture (see `check_latency --write-fixtures`) from an in-process fake API
//! server, whose request log shows every request kubelab makes; starts `kubelab serve` on a
//! free loopback port against it; opens `--pages` Server-Sent-Event streams to
//! `/tasks/{task}/live`, one learner cookie each (one open task page each); waits until
//! every stream got its first `event: verdict` (and checks it is full marks); lets the
//! start-up re-checks settle; then, for `--idle` seconds with no change to the cluster,
//! measures the server's CPU time (utime + stime from `/proc/PID/stat`, and the per-thread
//! `schedstat` run time in nanoseconds), the requests it sent to the API server, and the
//! events the pages received.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use fake_apiserver::{FakeCluster, RecordedRequest};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

#[derive(Parser, Debug)]
#[command(about = "CPU of kubelab serve with many idle live task pages")]
struct Args {
    /// Fixture YAML with the cluster state (e.g. from `check_latency --write-fixtures`).
    #[arg(long)]
    fixture: PathBuf,
    /// The kubelab binary.
    #[arg(long, default_value = "target/release/kubelab")]
    kubelab: PathBuf,
    /// Open task pages (SSE streams), one learner each.
    #[arg(long, default_value_t = 100)]
    pages: usize,
    /// Seconds of measuring with nothing changing.
    #[arg(long, default_value_t = 30)]
    idle: u64,
    /// Seconds to wait after the last first verdict before measuring.
    #[arg(long, default_value_t = 5)]
    settle: u64,
    /// The task the pages show.
    #[arg(long, default_value = "deploy-two-pods")]
    task: String,
}

/// What the pages received, counted across all of them.
#[derive(Default)]
struct Counters {
    verdicts_after_first: AtomicUsize,
    keepalives: AtomicUsize,
    closed: AtomicUsize,
}

/// A first verdict: (page, score, max score, time since the page connected).
type First = Result<(usize, u32, u32, Duration), String>;

fn score(block: &str) -> Option<(u32, u32)> {
    let end = block.find(" points</strong>")?;
    let start = block[..end].rfind("<strong>")? + "<strong>".len();
    let (a, b) = block[start..end].split_once(" / ")?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

async fn page(
    port: u16,
    index: usize,
    task: String,
    first: mpsc::Sender<First>,
    counters: Arc<Counters>,
) {
    let started = Instant::now();
    let result = read_stream(port, index, &task, &first, &counters, started).await;
    counters.closed.fetch_add(1, Ordering::Relaxed);
    if let Err(err) = result {
        let _ = first.send(Err(format!("page {index}: {err}"))).await;
    }
}

async fn read_stream(
    port: u16,
    index: usize,
    task: &str,
    first: &mpsc::Sender<First>,
    counters: &Counters,
    started: Instant,
) -> Result<(), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let cookie = format!("{:032x}", 0x6b75_6265_6c61_6200_u128 + index as u128);
    let request = format!(
        "GET /tasks/{task}/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\
         Cookie: kubelab_learner={cookie}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .await
        .map_err(|e| format!("status line: {e}"))?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(format!("answered {}", line.trim()));
    }
    let mut chunked = false;
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .await
            .map_err(|e| format!("headers: {e}"))?;
        let header = line.trim().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if header == "transfer-encoding: chunked" {
            chunked = true;
        }
    }
    let mut text = String::new();
    let mut got_first = false;
    loop {
        // One chunk (or, without chunked encoding, whatever arrives).
        if chunked {
            line.clear();
            if reader
                .read_line(&mut line)
                .await
                .map_err(|e| e.to_string())?
                == 0
            {
                return Err("the stream ended".into());
            }
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|e| format!("chunk size {line:?}: {e}"))?;
            if size == 0 {
                return Err("the stream ended".into());
            }
            let mut data = vec![0; size + 2];
            reader
                .read_exact(&mut data)
                .await
                .map_err(|e| e.to_string())?;
            text.push_str(&String::from_utf8_lossy(&data[..size]));
        } else {
            let mut data = [0u8; 8192];
            let n = reader.read(&mut data).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the stream ended".into());
            }
            text.push_str(&String::from_utf8_lossy(&data[..n]));
        }
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let is_verdict = block.lines().any(|l| l.trim() == "event: verdict");
            if is_verdict && !got_first {
                got_first = true;
                let (got, max) = score(&block).unwrap_or((0, 0));
                let _ = first.send(Ok((index, got, max, started.elapsed()))).await;
            } else if is_verdict {
                counters
                    .verdicts_after_first
                    .fetch_add(1, Ordering::Relaxed);
            } else if block.lines().all(|l| l.is_empty() || l.starts_with(':')) {
                counters.keepalives.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A process's counters so far.
struct Usage {
    /// utime + stime, in clock ticks (all threads, exited ones included).
    ticks: u64,
    /// Sum of its live threads' schedstat run time, in nanoseconds.
    run_ns: u64,
    /// Minor page faults.
    minflt: u64,
}

fn usage(pid: u32) -> Result<Usage, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("odd /proc stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or_else(|| format!("no field {i} in /proc/{pid}/stat"))
    };
    // After the command name: state is field 3, minflt 10, utime 14, stime 15 (1-based,
    // man 5 proc).
    let mut run_ns = 0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
                run_ns += text
                    .split_whitespace()
                    .next()
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Ok(Usage {
        ticks: field(11)? + field(12)?,
        run_ns,
        minflt: field(7)?,
    })
}

fn status_field(pid: u32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        })
        .unwrap_or_else(|| "?".to_string())
}

fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

fn is_watch(r: &RecordedRequest) -> bool {
    matches!(r.param("watch").as_deref(), Some("true" | "1"))
}

fn summarize(requests: &[RecordedRequest]) -> String {
    if requests.is_empty() {
        return "none".to_string();
    }
    let watches = requests.iter().filter(|r| is_watch(r)).count();
    let execs = requests
        .iter()
        .filter(|r| r.path.ends_with("/exec"))
        .count();
    format!(
        "{} ({} watch, {} exec, {} other)",
        requests.len(),
        watches,
        execs,
        requests.len() - watches - execs
    )
}

async fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer.starts_with("HTTP/1.1 200")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;

    let cluster = FakeCluster::new();
    cluster.try_apply_yaml(&std::fs::read_to_string(&args.fixture)?)?;
    let server = cluster.start().await?;
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig(&server, "kind-kubelab"))?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log_path = work.path().join("serve.log");
    let mut child = tokio::process::Command::new(&args.kubelab)
        .arg("serve")
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .arg("--db")
        .arg(work.path().join("kubelab.db"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--context", "kind-kubelab"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args.kubelab.display()))?;
    let pid = child.id().ok_or("kubelab exited at once")?;
    let spawned = Instant::now();
    while !healthy(port).await {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!("kubelab serve exited ({status}): {log}").into());
        }
        if spawned.elapsed() > Duration::from_secs(30) {
            return Err("kubelab serve did not become healthy within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ticks_per_second = clock_ticks_per_second();
    let cpu_ready = usage(pid)?.ticks;
    println!(
        "kubelab serve (pid {pid}) healthy after {} ms, against the in-process fake at {}",
        spawned.elapsed().as_millis(),
        server.url()
    );

    // Open the pages.
    let counters = Arc::new(Counters::default());
    let (first_tx, mut first_rx) = mpsc::channel::<First>(args.pages.max(1));
    let opened = Instant::now();
    let mut pages = Vec::with_capacity(args.pages);
    for index in 0..args.pages {
        pages.push(tokio::spawn(page(
            port,
            index,
            args.task.clone(),
            first_tx.clone(),
            counters.clone(),
        )));
    }
    drop(first_tx);
    let mut latencies = Vec::with_capacity(args.pages);
    let mut not_full = 0;
    while latencies.len() < args.pages {
        match tokio::time::timeout(Duration::from_secs(60), first_rx.recv()).await {
            Ok(Some(Ok((_, got, max, took)))) => {
                if max == 0 || got != max {
                    not_full += 1;
                }
                latencies.push(took);
            }
            Ok(Some(Err(err))) => return Err(err.into()),
            Ok(None) => return Err("every page stream ended".into()),
            Err(_) => {
                return Err(format!(
                    "only {} of {} pages got a verdict within 60 s",
                    latencies.len(),
                    args.pages
                )
                .into());
            }
        }
    }
    let all_first = opened.elapsed();
    latencies.sort();
    let cpu_opened = usage(pid)?.ticks;
    println!(
        "{} pages of {} got their first verdict in {} ms (per page: median {} ms, slowest {} ms); {}",
        args.pages,
        args.task,
        all_first.as_millis(),
        latencies
            .get(latencies.len() / 2)
            .map_or(0, |d| d.as_millis()),
        latencies.last().map_or(0, |d| d.as_millis()),
        if not_full == 0 {
            "every verdict full marks".to_string()
        } else {
            format!("warning: {not_full} verdict(s) NOT full marks")
        }
    );
    println!(
        "kubelab CPU while opening them ({} checks + watchers): {} ms",
        args.pages,
        (cpu_opened - cpu_ready) * 1000 / ticks_per_second
    );

    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let before = cluster.requests();
    let verdicts_before = counters.verdicts_after_first.load(Ordering::Relaxed);
    let keepalives_before = counters.keepalives.load(Ordering::Relaxed);
    let start = usage(pid)?;
    let idle_started = Instant::now();
    // Sample every second, to show when the little CPU time there is gets spent.
    let mut timeline = Vec::new();
    let mut last_ns = start.run_ns;
    for second in 1..=args.idle {
        tokio::time::sleep_until((idle_started + Duration::from_secs(second)).into()).await;
        let ns = usage(pid)?.run_ns;
        let spent = ns.saturating_sub(last_ns);
        last_ns = ns;
        if spent >= 50_000 {
            let at = idle_started.duration_since(opened).as_secs() + second;
            timeline.push(format!("{at}s: {:.1} ms", spent as f64 / 1e6));
        }
    }
    let end = usage(pid)?;
    let idle = idle_started.elapsed();
    let after = cluster.requests();
    let during = &after[before.len()..];

    let ticks = end.ticks - start.ticks;
    let run_ns = end.run_ns.saturating_sub(start.run_ns);
    let watch_paths: Vec<String> = after
        .iter()
        .filter(|r| is_watch(r))
        .map(|r| r.path.clone())
        .collect();
    println!(
        "idle {:.1} s, nothing changing: kubelab CPU {} ticks = {} ms (utime+stime, {} ticks/s); \
         thread run time {:.2} ms = {:.4} % of one core",
        idle.as_secs_f64(),
        ticks,
        ticks * 1000 / ticks_per_second,
        ticks_per_second,
        run_ns as f64 / 1e6,
        run_ns as f64 / idle.as_nanos() as f64 * 100.0
    );
    println!(
        "  minor page faults while idle: {}",
        end.minflt - start.minflt
    );
    println!(
        "  seconds (counted from opening the pages) with >= 0.05 ms of kubelab CPU: {}",
        if timeline.is_empty() {
            "none".to_string()
        } else {
            timeline.join(", ")
        }
    );
    println!(
        "API requests from kubelab while idle: {}; since start: {}",
        summarize(during),
        summarize(&after)
    );
    println!(
        "watch requests since start: {} ({})",
        watch_paths.len(),
        watch_paths.join(", ")
    );
    println!(
        "pages while idle: {} new verdict event(s), {} keep-alive comment(s), {} stream(s) closed",
        counters.verdicts_after_first.load(Ordering::Relaxed) - verdicts_before,
        counters.keepalives.load(Ordering::Relaxed) - keepalives_before,
        counters.closed.load(Ordering::Relaxed)
    );
    println!(
        "kubelab serve: {} threads, RSS {}",
        status_field(pid, "Threads:"),
        status_field(pid, "VmRSS:")
    );

    for page in pages {
        page.abort();
    }
    let _ = child.kill().await;
    server.shutdown().await;
    Ok(())
}

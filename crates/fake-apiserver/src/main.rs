//! `fake-apiserver`: serve a fake Kubernetes API on loopback, for tests and benchmarks.
//!
//! ```text
//! fake-apiserver [--addr 127.0.0.1:0] [--fixture FILE.yaml]... [--kubeconfig-out PATH] [--context NAME]
//!                [--simulate-kind NAME [--workers N]]
//! ```
//!
//! `--simulate-kind` turns on the simulated cluster (nodes without a CNI, kubelet,
//! DaemonSet controller, pod network): `kubelab selftest` can then run against it.
//!
//! Loads the fixtures (multi-document YAML: Kubernetes objects, `FakeExecRule`, `FakeLog`),
//! prints `listening on http://127.0.0.1:PORT` on stdout, writes the kubeconfig if asked,
//! and serves until killed. Only loopback addresses are accepted.

use std::net::SocketAddr;
use std::process::ExitCode;

use fake_apiserver::FakeCluster;

const USAGE: &str = "usage: fake-apiserver [--addr 127.0.0.1:0] [--fixture FILE.yaml]... \
[--kubeconfig-out PATH] [--context NAME] [--simulate-kind NAME [--workers N]]";

struct Args {
    addr: SocketAddr,
    fixtures: Vec<String>,
    kubeconfig_out: Option<String>,
    context: String,
    simulate: Option<String>,
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        fixtures: Vec::new(),
        kubeconfig_out: None,
        context: "fake".to_string(),
        simulate: None,
        workers: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                args.addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v}: {e} (expected e.g. 127.0.0.1:0)"))?;
            }
            "--fixture" => args.fixtures.push(value()?),
            "--kubeconfig-out" => args.kubeconfig_out = Some(value()?),
            "--context" => args.context = value()?,
            "--simulate-kind" => args.simulate = Some(value()?),
            "--workers" => {
                let v = value()?;
                args.workers = v
                    .parse()
                    .map_err(|e| format!("--workers {v}: {e} (expected a number)"))?;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !args.addr.ip().is_loopback() {
        return Err(format!(
            "refusing to bind {}: fake-apiserver only listens on loopback (127.0.0.1)",
            args.addr
        ));
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fake-apiserver: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cluster = FakeCluster::new();
    if let Some(name) = &args.simulate {
        cluster.simulate_kind(name, args.workers);
    }
    for path in &args.fixtures {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("fake-apiserver: cannot read {path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match cluster.try_apply_yaml(&text) {
            Ok(n) => eprintln!("fake-apiserver: {path}: {n} documents"),
            Err(e) => {
                eprintln!("fake-apiserver: {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let server = match cluster.start_on(args.addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-apiserver: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.kubeconfig_out
        && let Err(e) = std::fs::write(path, cluster.kubeconfig(&server, &args.context))
    {
        eprintln!("fake-apiserver: cannot write {path}: {e}");
        return ExitCode::FAILURE;
    }
    println!("listening on {}", server.url());
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

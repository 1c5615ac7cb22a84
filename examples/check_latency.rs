//! Benchmark: the latency of one full kubelab check (observe through kube-rs + evaluate) for
//! each task of the pod-connectivity lesson, on a cluster in the solved state of all five tasks.
//!
//! ```text
//! cargo run --release --example check_latency -- [--runs 200] [--warmup 10] [--task ID]...
//!     [--kubeconfig PATH --context NAME] [--tsv FILE]
//! cargo run --release --example check_latency -- --write-fixtures DIR
//! ```
//!
//! Without `--kubeconfig` it serves the solved state from an in-process fake API server
//! (`fake-apiserver`); with it, it checks whatever that context points at (`bench/checks.sh`
//! points it at the `fake-apiserver` binary loaded with the fixture this example writes, so
//! kubelab and the bash + kubectl verify scripts are timed against the same server).
//!
//! Per task it reports the median and p99 (nearest rank) of `--runs` checks on one cached
//! client ("warm", what `kubelab serve` does: one client per context) and of as many checks
//! that each open a new client from the kubeconfig first ("cold", what `kubelab check` does
//! once per process). Every verdict must be full marks; otherwise it prints a warning, so the
//! numbers always describe real, passing checks.
//!
//! `--write-fixtures DIR` writes `DIR/solved.yaml` (objects plus the `FakeExecRule`s the
//! checks' probes need, built from `kubelab::probe`) for `fake-apiserver --fixture`,
//! and exits.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use fake_apiserver::FakeCluster;
use k8s_openapi::jiff::Timestamp;
use kubelab::ContentFiles;
use kubelab::check;
use kubelab::{Connection, KubeconfigSource};
use kubelab::{CriterionStatus as Status, Verdict, probe};
use serde_json::{Value, json};

/// The context name the written kubeconfigs use.
const CONTEXT: &str = "kind-kubelab";

#[derive(Parser, Debug)]
#[command(about = "Latency of kubelab's task checks against a (fake) API server")]
struct Args {
    /// Timed checks per task and mode.
    #[arg(long, env = "KUBELAB_BENCH_RUNS", default_value_t = 200)]
    runs: usize,
    /// Untimed checks per task before timing.
    #[arg(long, env = "KUBELAB_BENCH_WARMUP", default_value_t = 10)]
    warmup: usize,
    /// Only these tasks (default: every task of the catalogue).
    #[arg(long = "task")]
    tasks: Vec<String>,
    /// Check against this kubeconfig instead of an in-process fake.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The context of --kubeconfig.
    #[arg(long, default_value = CONTEXT)]
    context: String,
    /// Also write the results as tab-separated values (microseconds) to this file.
    #[arg(long)]
    tsv: Option<PathBuf>,
    /// Skip the cold mode (a new client per check).
    #[arg(long)]
    no_cold: bool,
    /// Write the solved-state fixture to DIR/solved.yaml and exit.
    #[arg(long, value_name = "DIR")]
    write_fixtures: Option<PathBuf>,
}

fn ago(seconds: i64) -> String {
    Timestamp::from_second(Timestamp::now().as_second() - seconds)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "2026-01-01T00:00:00Z".to_string())
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "creationTimestamp": ago(7200)},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

fn node(name: &str, ip: &str, cidr: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "creationTimestamp": ago(7200), "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
           "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
           "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                      "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                                      "lastHeartbeatTime": ago(10), "lastTransitionTime": ago(7000)}],
                      "nodeInfo": {"kubeletVersion": "v1.35.0", "containerRuntimeVersion": "containerd://2.1.4", "osImage": "Debian GNU/Linux 12 (bookworm)"}}})
}

fn running_container(name: &str, image: &str, started: i64) -> Value {
    json!({"name": name, "image": format!("docker.io/library/{image}"), "imageID": "", "ready": true, "started": true,
           "restartCount": 0, "state": {"running": {"startedAt": ago(started)}}})
}

fn running_pod(
    ns: &str,
    name: &str,
    labels: Value,
    node: &str,
    ip: &str,
    containers: Value,
    statuses: Value,
) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"), "creationTimestamp": ago(3600), "labels": labels},
           "spec": {"nodeName": node, "restartPolicy": "Always", "containers": containers},
           "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "172.18.0.3", "startTime": ago(3600), "qosClass": "BestEffort",
                      "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
                                     {"type": "ContainersReady", "status": "True"}, {"type": "Ready", "status": "True"}],
                      "containerStatuses": statuses}})
}

fn nginx_pod(name: &str, ip: &str) -> Value {
    running_pod(
        "test",
        name,
        json!({"run": name}),
        "kubelab-worker",
        ip,
        json!([{"name": name, "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]),
        json!([running_container(name, "nginx:1.25", 3590)]),
    )
}

fn exec_rule(
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    command: Vec<String>,
    stdout: &str,
) -> Value {
    let mut rule = json!({"kind": "FakeExecRule", "namespace": namespace, "pod": pod, "command": command,
                          "stdout": stdout, "exitCode": 0});
    if let (Some(c), Some(map)) = (container, rule.as_object_mut()) {
        map.insert("container".to_string(), json!(c));
    }
    rule
}

/// Every object and exec rule of the solved state of all five tasks.
fn solved_state() -> Vec<Value> {
    let mut docs = vec![
        namespace("test"),
        namespace("multi"),
        namespace("kube-flannel"),
        node("kubelab-control-plane", "172.18.0.2", "10.244.0.0/24"),
        node("kubelab-worker", "172.18.0.3", "10.244.1.0/24"),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "kube-flannel-ds", "namespace": "kube-flannel", "generation": 1, "creationTimestamp": ago(7000),
                            "labels": {"app": "flannel", "k8s-app": "flannel", "tier": "node"}},
               "spec": {"selector": {"matchLabels": {"app": "flannel"}},
                        "template": {"metadata": {"labels": {"app": "flannel", "tier": "node"}},
                                     "spec": {"hostNetwork": true, "containers": [{"name": "kube-flannel", "image": "ghcr.io/flannel-io/flannel:v0.28.9"}]}}},
               "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "updatedNumberScheduled": 2,
                          "numberReady": 2, "numberAvailable": 2, "numberMisscheduled": 0, "observedGeneration": 1}}),
    ];
    for (name, node, ip) in [
        (
            "kube-flannel-ds-m7c2k",
            "kubelab-control-plane",
            "172.18.0.2",
        ),
        ("kube-flannel-ds-4xq8t", "kubelab-worker", "172.18.0.3"),
    ] {
        docs.push(running_pod(
            "kube-flannel",
            name,
            json!({"app": "flannel", "tier": "node"}),
            node,
            ip,
            json!([{"name": "kube-flannel", "image": "ghcr.io/flannel-io/flannel:v0.28.9"}]),
            json!([running_container(
                "kube-flannel",
                "ghcr.io/flannel-io/flannel:v0.28.9",
                6990
            )]),
        ));
    }
    docs.push(nginx_pod("pod1", "10.244.1.2"));
    docs.push(nginx_pod("pod2", "10.244.1.3"));
    docs.push(running_pod(
        "multi",
        "multi-container",
        json!({"app": "multi-container"}),
        "kubelab-worker",
        "10.244.1.4",
        json!([
            {"name": "app", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "image": "redis:7", "ports": [{"containerPort": 6379, "protocol": "TCP"}]}
        ]),
        json!([
            running_container("app", "nginx:1.25", 3590),
            running_container("sidecar", "redis:7", 3590)
        ]),
    ));
    // The probes kubelab runs, answered as the real containers would.
    docs.push(exec_rule(
        "test",
        "pod1",
        None,
        probe::http("10.244.1.3", 80),
        "HTTP/1.1 200\n",
    ));
    docs.push(exec_rule(
        "multi",
        "multi-container",
        Some("app"),
        probe::redis_ping(6379),
        "+PONG\r\n",
    ));
    docs.push(exec_rule(
        "multi",
        "multi-container",
        Some("sidecar"),
        probe::http("127.0.0.1", 80),
        "HTTP/1.1 200 OK\r\n",
    ));
    docs
}

fn fixture_yaml() -> Result<String, serde_yaml_ng::Error> {
    let mut out = String::from(
        "# The solved state of the five pod-connectivity tasks, written by\n\
         # `cargo run --release --example check_latency -- --write-fixtures DIR`.\n\
         # The FakeExecRule commands are kubelab's probes (kubelab::probe) verbatim;\n\
         # bench/verify/*.sh run the same commands through kubectl exec.\n",
    );
    for doc in solved_state() {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(&doc)?);
    }
    Ok(out)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn full_marks(verdict: &Verdict) -> bool {
    verdict.passed && verdict.score == verdict.max_score
}

fn describe_failures(verdict: &Verdict) -> String {
    verdict
        .criteria
        .iter()
        .filter(|c| c.status != Status::Passed)
        .map(|c| {
            format!(
                "{} {}: {} {}",
                c.id,
                c.status.as_str(),
                c.evidence.observed,
                c.evidence.reasons.join("; ")
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

struct Timing {
    median: Duration,
    p99: Duration,
    not_full: usize,
}

async fn time_checks(
    task: &kubelab::Task,
    source: &KubeconfigSource,
    context: &str,
    warmup: usize,
    runs: usize,
    cold: bool,
) -> Result<(Timing, Verdict), Box<dyn std::error::Error>> {
    let shared = Connection::open(source, context).await?;
    let mut samples = Vec::with_capacity(runs);
    let mut not_full = 0;
    let mut last = None;
    for i in 0..warmup + runs {
        let started = Instant::now();
        let conn = if cold {
            Connection::open(source, context).await
        } else {
            Ok(shared.clone())
        };
        let verdict = check(conn, task).await;
        let took = started.elapsed();
        if !full_marks(&verdict) {
            if not_full == 0 {
                eprintln!(
                    "warning: {} scored {}/{} (the benchmark expects full marks): {}",
                    task.id,
                    verdict.score,
                    verdict.max_score,
                    describe_failures(&verdict)
                );
            }
            not_full += 1;
        }
        if i >= warmup {
            samples.push(took);
        }
        last = Some(verdict);
    }
    samples.sort();
    let last = last.ok_or("no check ran")?;
    Ok((
        Timing {
            median: percentile(&samples, 50.0),
            p99: percentile(&samples, 99.0),
            not_full,
        },
        last,
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(dir) = &args.write_fixtures {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("solved.yaml");
        std::fs::write(&path, fixture_yaml()?)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }

    let catalogue = kubelab::load_content(&ContentFiles::embedded())
        .map_err(|e| format!("the embedded content does not load: {e:?}"))?;
    let tasks: Vec<&kubelab::Task> = if args.tasks.is_empty() {
        catalogue
            .lessons
            .iter()
            .flat_map(|lesson| catalogue.lesson_tasks(lesson))
            .collect()
    } else {
        args.tasks
            .iter()
            .map(|id| catalogue.task(id).ok_or(format!("there is no task `{id}`")))
            .collect::<Result<_, _>>()?
    };

    // Keep the in-process fake (and its temporary kubeconfig) alive while checking.
    let mut _fake = None;
    let (kubeconfig, context, against) = match &args.kubeconfig {
        Some(path) => (
            path.clone(),
            args.context.clone(),
            path.display().to_string(),
        ),
        None => {
            let cluster = FakeCluster::new();
            cluster.try_apply_yaml(&fixture_yaml()?)?;
            let server = cluster.start().await?;
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, cluster.kubeconfig(&server, CONTEXT))?;
            let url = server.url();
            _fake = Some((cluster, server, dir));
            (
                path,
                CONTEXT.to_string(),
                format!("in-process fake API server at {url}"),
            )
        }
    };
    let source = KubeconfigSource::file(kubeconfig);

    println!(
        "kubelab check latency against {against}: {} timed checks per task and mode after {} warm-up",
        args.runs, args.warmup
    );
    println!(
        "{:<22} {:>7} {:>12} {:>12} {:>12} {:>12}",
        "task", "score", "warm median", "warm p99", "cold median", "cold p99"
    );
    let mut tsv =
        String::from("task\tmedian_us\tp99_us\tcold_median_us\tcold_p99_us\tfull_marks\n");
    let mut warnings = 0;
    for task in tasks {
        let (warm, verdict) =
            time_checks(task, &source, &context, args.warmup, args.runs, false).await?;
        let cold = if args.no_cold {
            None
        } else {
            Some(
                time_checks(task, &source, &context, args.warmup, args.runs, true)
                    .await?
                    .0,
            )
        };
        let not_full = warm.not_full + cold.as_ref().map_or(0, |c| c.not_full);
        warnings += not_full;
        let score = format!("{}/{}", verdict.score, verdict.max_score);
        let (cold_median, cold_p99) = cold
            .as_ref()
            .map_or(("-".to_string(), "-".to_string()), |c| {
                (ms(c.median), ms(c.p99))
            });
        println!(
            "{:<22} {:>7} {:>12} {:>12} {:>12} {:>12}",
            task.id,
            score,
            ms(warm.median),
            ms(warm.p99),
            cold_median,
            cold_p99
        );
        let us = |d: Duration| d.as_micros().to_string();
        tsv.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            task.id,
            us(warm.median),
            us(warm.p99),
            cold.as_ref().map_or("-".to_string(), |c| us(c.median)),
            cold.as_ref().map_or("-".to_string(), |c| us(c.p99)),
            if not_full == 0 { "yes" } else { "no" }
        ));
    }
    if warnings > 0 {
        eprintln!(
            "warning: {warnings} check(s) did not score full marks; the numbers above include them"
        );
    }
    if let Some(path) = &args.tsv {
        std::fs::write(path, tsv)?;
    }
    Ok(())
}

//! `kubelab diagnose` on the fake API server: a healthy simulated kind cluster (all ok), the
//! same without a CNI (the first failing step named), a node without a podCIDR, an unreachable
//! API server (every step `error` within the bound), and exec forbidden (a clear error); the
//! probe Pods never stay behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_apiserver::{FakeCluster, Fault, Server};
use serde_json::{Value, json};

struct Cluster {
    fake: FakeCluster,
    _server: Server,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

async fn cluster(fake: FakeCluster) -> Cluster {
    let server = fake.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig(&server, "kind-kubelab")).unwrap();
    Cluster {
        fake,
        _server: server,
        kubeconfig,
        _dir: dir,
    }
}

/// What kind runs in kube-system besides the CNI: kube-proxy on every node and CoreDNS.
fn system_pods(fake: &FakeCluster) {
    fake.apply(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-proxy"}},
                "spec": {"hostNetwork": true, "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.35.0",
                        "command": ["/usr/local/bin/kube-proxy"]}]},
            },
        },
    }));
    for n in 1..=2 {
        fake.apply(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("coredns-{n}"), "namespace": "kube-system",
                "labels": {"k8s-app": "kube-dns"}},
            "spec": {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                "containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.12.0",
                    "args": ["-conf", "/etc/coredns/Corefile"]}]},
        }));
    }
}

fn flannel_manifest() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube-flannel-v0.28.9.yml"),
    )
    .unwrap()
}

/// A simulated kind cluster; with `network`, Flannel is installed and every node Ready.
async fn simulated(network: bool) -> Cluster {
    let fake = FakeCluster::new();
    fake.simulate_kind("kubelab", 1);
    system_pods(&fake);
    if network {
        fake.apply_yaml(&flannel_manifest());
        for _ in 0..200 {
            let ready = fake.list("v1", "Node").iter().all(|n| {
                n["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            });
            let dns = fake
                .list("v1", "Pod")
                .iter()
                .filter(|p| p["metadata"]["labels"]["k8s-app"] == "kube-dns")
                .all(|p| p["status"]["phase"] == "Running");
            if ready && dns {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    cluster(fake).await
}

/// Runs `kubelab diagnose --json` on the cluster: (exit code, report).
fn diagnose(kubeconfig: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .args([
                "diagnose",
                "pod-connectivity",
                "--json",
                "--context",
                "kind-kubelab",
            ])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(extra)
            .env_remove("KUBELAB_CONTEXT")
            .env_remove("KUBELAB_CONTENT")
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "only JSON on stdout ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}: {report:#}"))
}

/// No probe Pod stays behind (the namespace goes, its Pods with it).
async fn probes_gone(fake: &FakeCluster) {
    for _ in 0..100 {
        if !fake.list("v1", "Pod").iter().any(|p| {
            p["metadata"]["namespace"]
                .as_str()
                .is_some_and(|ns| ns.starts_with("kubelab-diagnose"))
        }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("probe Pods left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_cluster_holds_at_every_step() {
    let c = simulated(true).await;
    let (code, report) = diagnose(&c.kubeconfig, &[]);
    for s in report["steps"].as_array().unwrap() {
        assert!(
            s["status"] == "ok" || s["status"] == "warn",
            "{}: {s:#}",
            s["id"]
        );
    }
    assert_eq!(code, Some(0), "{report:#}");
    assert!(report["first_broken"].is_null());
    let network = step(&report, "pod-network");
    let evidence = network["evidence"].to_string();
    assert!(
        evidence.contains("on kubelab-worker")
            && evidence.contains("kubelab-worker → kubelab-control-plane"),
        "same-node and cross-node probes: {network:#}"
    );
    let dns = step(&report, "dns");
    assert_eq!(dns["status"], "ok", "{dns:#}");
    assert!(dns["evidence"][0].as_str().unwrap().contains("10.96.0.1"));
    let files = step(&report, "cni-node-files");
    assert!(
        files["evidence"]
            .to_string()
            .contains("/etc/cni/net.d/10-flannel.conflist"),
        "{files:#}"
    );
    // Run again right away: the first run's namespace may still be terminating.
    let (again, second) = diagnose(&c.kubeconfig, &[]);
    assert_eq!(again, Some(0), "{second:#}");
    probes_gone(&c.fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cni_the_first_broken_link_is_the_nodes() {
    let c = simulated(false).await;
    let (code, report) = diagnose(&c.kubeconfig, &["--timeout", "20"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["first_broken"], "nodes-ready", "{report:#}");
    let nodes = step(&report, "nodes-ready");
    assert!(
        nodes["evidence"].to_string().contains("NotReady"),
        "{nodes:#}"
    );
    assert!(nodes["next"].as_str().unwrap().contains("Install"));
    assert_eq!(step(&report, "cni-daemonset")["status"], "fail");
    assert_eq!(step(&report, "coredns")["status"], "fail");
    assert_eq!(step(&report, "pod-network")["status"], "fail");
    probes_gone(&c.fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_a_pod_cidr_is_named() {
    let fake = FakeCluster::new();
    crate::fake::nodes(&fake, true);
    let mut node = fake.get("v1", "Node", None, "kubelab-worker").unwrap();
    node["spec"].as_object_mut().unwrap().remove("podCIDR");
    fake.apply(node);
    let c = cluster(fake).await;
    let (code, report) = diagnose(&c.kubeconfig, &["--timeout", "8"]);
    assert_eq!(code, Some(1));
    let cidrs = step(&report, "node-pod-cidrs");
    assert_eq!(cidrs["status"], "fail");
    assert_eq!(cidrs["evidence"][0], "node kubelab-worker has no podCIDR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_server_is_an_error_at_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    let fake = FakeCluster::new();
    let server = fake.start().await.unwrap();
    let text = fake
        .kubeconfig(&server, "kind-kubelab")
        .replace(&server.url(), &format!("http://127.0.0.1:{port}"));
    std::fs::write(&kubeconfig, text).unwrap();
    let (code, report) = diagnose(&kubeconfig, &["--timeout", "10"]);
    assert_eq!(code, Some(1));
    for s in report["steps"].as_array().unwrap() {
        assert_eq!(s["status"], "error", "{s:#}");
    }
    assert!(
        step(&report, "nodes-ready")["evidence"][0]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_exec_is_a_clear_error() {
    let c = simulated(true).await;
    c.fake.inject(Fault::status("/exec", 403));
    let (code, report) = diagnose(&c.kubeconfig, &[]);
    assert_eq!(code, Some(1));
    let network = step(&report, "pod-network");
    assert_eq!(network["status"], "error", "{network:#}");
    assert!(
        network["evidence"][0]
            .as_str()
            .unwrap()
            .contains("forbidden"),
        "{network:#}"
    );
    c.fake.clear_faults();
    probes_gone(&c.fake).await;
}

/// The page works without JavaScript (`?run=1` walks the checklist on the server), and an
/// unknown lesson is 404.
#[tokio::test]
async fn the_page_runs_on_the_server_without_javascript() {
    let app = crate::support::test_app().await;
    let cookie = app.learner().await;
    let page = app
        .get("/lessons/pod-connectivity/diagnose?run=1", Some(&cookie))
        .await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    assert!(page.body.contains("step-error"), "{}", page.body);
    assert!(
        page.body.contains("First broken link: nodes-ready"),
        "{}",
        page.body
    );
    let api = app
        .call(
            axum::http::Method::GET,
            "/api/v1/lessons/pod-connectivity/diagnose",
            &cookie,
        )
        .await;
    assert_eq!(api.status, axum::http::StatusCode::OK);
    assert_eq!(api.json()["first_broken"], "nodes-ready");
    assert_eq!(
        app.get("/lessons/nope/diagnose", Some(&cookie))
            .await
            .status,
        axum::http::StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_plugin_binary_is_named_on_its_node() {
    let c = simulated(true).await;
    // The bridge plugin gone from the worker (kind node images lack it).
    let fake = &c.fake;
    let before = fake.node_files("kubelab-worker");
    assert!(
        before.iter().any(|f| f == "/opt/cni/bin/bridge"),
        "{before:?}"
    );
    fake.remove_node_file("kubelab-worker", "/opt/cni/bin/bridge");
    let (code, report) = diagnose(&c.kubeconfig, &[]);
    assert_eq!(code, Some(1));
    let files = step(&report, "cni-node-files");
    assert_eq!(files["status"], "fail", "{files:#}");
    assert!(
        files["evidence"][0]
            .as_str()
            .unwrap()
            .contains("kubelab-worker: /etc/cni/net.d/10-flannel.conflist names"),
        "{files:#}"
    );
    assert!(
        files["evidence"][0]
            .as_str()
            .unwrap()
            .contains("lacks bridge")
    );
    probes_gone(&c.fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_overlay_fails_across_nodes_only() {
    let c = simulated(true).await;
    c.fake.block_overlay(true);
    let (code, report) = diagnose(&c.kubeconfig, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(report["first_broken"], "pod-network", "{report:#}");
    let network = step(&report, "pod-network");
    assert_eq!(
        network["evidence"][0], "same-node traffic works; across nodes it does not",
        "{network:#}"
    );
    // CoreDNS may run on the other node: then names do not resolve either, and it says so.
    let dns = step(&report, "dns");
    assert!(
        dns["status"] == "ok" || dns["evidence"][0].as_str().unwrap().contains("timed out"),
        "{dns:#}"
    );
    probes_gone(&c.fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_cni_with_stale_node_state_is_found() {
    let c = simulated(true).await;
    // The CNI's objects are gone; its files stay on the nodes, which still report Ready.
    assert!(c.fake.delete(
        "apps/v1",
        "DaemonSet",
        Some("kube-flannel"),
        "kube-flannel-ds"
    ));
    for _ in 0..100 {
        if !c
            .fake
            .list("v1", "Pod")
            .iter()
            .any(|p| p["metadata"]["namespace"] == "kube-flannel")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, report) = diagnose(&c.kubeconfig, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(step(&report, "nodes-ready")["status"], "ok", "{report:#}");
    assert_eq!(report["first_broken"], "cni-daemonset", "{report:#}");
    assert_eq!(
        step(&report, "cni-node-files")["status"],
        "ok",
        "stale files: {report:#}"
    );
    probes_gone(&c.fake).await;
}

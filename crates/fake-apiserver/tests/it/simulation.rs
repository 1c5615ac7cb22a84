//! The simulated kind cluster end to end: no CNI, Flannel from its real manifest, Pods that
//! run as their images would, probes that reach only what listens, the remove-cni fault.

use std::time::Duration;

use fake_apiserver::FakeCluster;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, PostParams};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::support::client_with;

const FLANNEL: &str = include_str!("../../../../tests/fixtures/kube-flannel-v0.28.9.yml");

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn get(cluster: &FakeCluster, ns: &str, name: &str) -> Value {
    cluster
        .get("v1", "Pod", Some(ns), name)
        .unwrap_or(Value::Null)
}

fn node_ready(cluster: &FakeCluster, node: &str) -> bool {
    cluster.get("v1", "Node", None, node).is_some_and(|n| {
        n["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    })
}

async fn exec(pods: &Api<Pod>, pod: &str, container: &str, command: &[&str]) -> (String, String) {
    let params = AttachParams::default()
        .container(container)
        .stdout(true)
        .stderr(true)
        .stdin(false);
    let mut process = pods.exec(pod, command.to_vec(), &params).await.unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    let mut o = process.stdout().unwrap();
    let mut e = process.stderr().unwrap();
    let _ = tokio::join!(o.read_to_string(&mut out), e.read_to_string(&mut err));
    (out, err)
}

fn pod(name: &str, containers: Value) -> Pod {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"}, "spec": {"containers": containers}}))
    .unwrap()
}

#[tokio::test]
async fn a_kind_cluster_runs_flannel_pods_and_probes() {
    let cluster = FakeCluster::new();
    cluster.simulate_kind("kubelab", 1);
    let server = cluster.start().await.unwrap();
    let client = client_with(&cluster, &server, |_| {}).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    assert!(!node_ready(&cluster, "kubelab-worker"), "no CNI yet");

    // Without a CNI a Pod is not even scheduled: the not-ready taint.
    pods.create(
        &PostParams::default(),
        &pod("early", json!([{"name": "nginx", "image": "nginx:1.25"}])),
    )
    .await
    .unwrap();
    until("FailedScheduling", || {
        get(&cluster, "default", "early")["status"]["conditions"][0]["reason"] == "Unschedulable"
    })
    .await;

    cluster.apply_yaml(FLANNEL);
    until("nodes Ready", || {
        node_ready(&cluster, "kubelab-worker") && node_ready(&cluster, "kubelab-control-plane")
    })
    .await;
    until("flannel rolled out", || {
        cluster
            .get(
                "apps/v1",
                "DaemonSet",
                Some("kube-flannel"),
                "kube-flannel-ds",
            )
            .is_some_and(|d| d["status"]["numberReady"] == 2)
    })
    .await;
    assert!(
        cluster
            .node_files("kubelab-worker")
            .contains(&"/run/flannel/subnet.env".to_string())
    );
    until("early runs", || {
        get(&cluster, "default", "early")["status"]["phase"] == "Running"
    })
    .await;
    let ip = get(&cluster, "default", "early")["status"]["podIP"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ip.starts_with("10.244.1."), "{ip}");

    // Two nginx in one Pod: one binds 80, the other crash-loops with nginx's own message.
    pods.create(
        &PostParams::default(),
        &pod(
            "twins",
            json!([
        {"name": "app", "image": "nginx:1.25"}, {"name": "sidecar", "image": "nginx:1.25"}]),
        ),
    )
    .await
    .unwrap();
    until("twins crash", || {
        get(&cluster, "default", "twins")["status"]["containerStatuses"][1]["state"]["waiting"]["reason"]
            == "CrashLoopBackOff"
    })
    .await;

    // Probes answer from what listens: nginx on 80, nothing on 6379, nothing beyond.
    let (out, _) = exec(
        &pods,
        "twins",
        "app",
        &["curl", "-sS", &format!("http://{ip}:80/")],
    )
    .await;
    assert!(out.contains("Welcome to nginx!"), "{out}");
    let (_, err) = exec(
        &pods,
        "twins",
        "app",
        &["curl", "-sS", "http://127.0.0.1:6379/"],
    )
    .await;
    assert!(err.contains("Couldn't connect to server"), "{err}");
    let (_, err) = exec(
        &pods,
        "twins",
        "app",
        &["curl", "-sS", "http://10.244.7.7:80/"],
    )
    .await;
    assert!(err.contains("Timeout"), "{err}");

    // The remove-cni fault's node pod clears the files; a new Pod then gets no sandbox.
    pods.delete("early", &DeleteParams::default())
        .await
        .unwrap();
    cluster.delete(
        "apps/v1",
        "DaemonSet",
        Some("kube-flannel"),
        "kube-flannel-ds",
    );
    let fault: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "fault", "namespace": "default"},
        "spec": {"nodeName": "kubelab-worker", "restartPolicy": "Never", "hostNetwork": true,
            "containers": [{"name": "rm", "image": "busybox:1.36", "command": ["sh", "-c",
                "rm -f /host/run/flannel/subnet.env /host/etc/cni/net.d/10-flannel.conflist"],
                "volumeMounts": [{"name": "run", "mountPath": "/host/run/flannel"}, {"name": "cni", "mountPath": "/host/etc/cni/net.d"}]}],
            "volumes": [{"name": "run", "hostPath": {"path": "/run/flannel"}}, {"name": "cni", "hostPath": {"path": "/etc/cni/net.d"}}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &fault).await.unwrap();
    until("fault done", || {
        get(&cluster, "default", "fault")["status"]["phase"] == "Succeeded"
    })
    .await;
    let files = cluster.node_files("kubelab-worker");
    assert!(
        !files.contains(&"/run/flannel/subnet.env".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"/opt/cni/bin/flannel".to_string()),
        "the plugin binary stays"
    );
    until("worker NotReady", || {
        !node_ready(&cluster, "kubelab-worker")
    })
    .await;
    until("flannel pods collected", || {
        cluster
            .list("v1", "Pod")
            .iter()
            .all(|p| p["metadata"]["namespace"] != "kube-flannel")
    })
    .await;
}

/// Even without the simulation, a scripted answer no cluster could give is refused: here a
/// probe "answered" on a port that no running container of the pod binds.
#[tokio::test]
async fn a_scripted_probe_cannot_reach_a_port_nothing_binds() {
    let cluster = FakeCluster::new();
    cluster.apply(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx:1.25"}]},
        "status": {"phase": "Running", "podIP": "10.244.1.9",
            "containerStatuses": [{"name": "app", "state": {"running": {}}}]}}));
    for port in ["80", "6379"] {
        cluster.script_exec(
            fake_apiserver::ExecRule::new(
                "default",
                "web",
                ["curl", "-s", &format!("http://127.0.0.1:{port}/")],
            )
            .stdout("pretend\n"),
        );
    }
    let server = cluster.start().await.unwrap();
    let client = client_with(&cluster, &server, |_| {}).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let (out, _) = exec(&pods, "web", "app", &["curl", "-s", "http://127.0.0.1:80/"]).await;
    assert_eq!(out, "pretend\n", "nginx binds 80: the script stands");
    let (out, err) = exec(
        &pods,
        "web",
        "app",
        &["curl", "-s", "http://127.0.0.1:6379/"],
    )
    .await;
    assert_eq!(out, "");
    assert!(err.contains("Couldn't connect to server"), "{err}");
}

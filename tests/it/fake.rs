//! A learner's cluster on the fake API server: states of the lesson's tasks, broken and solved.

use std::path::PathBuf;

use fake_apiserver::{ExecRule, FakeCluster, Server};
use k8s_openapi::jiff::Timestamp;
use kubelab::ContentFiles;
use kubelab::Store;
use kubelab::probe;
use kubelab::{AllowedContexts, Clusters, KubeconfigSource};
use kubelab::{AllowedHosts, AppState};
use serde_json::{Value, json};

use crate::support::TestApp;

/// The fake, its server, a kubeconfig for it, and a kubelab app bound to it.
pub struct Env {
    pub fake: FakeCluster,
    pub server: Server,
    pub kubeconfig: PathBuf,
    pub app: TestApp,
}

pub async fn env() -> Env {
    env_with(ContentFiles::embedded()).await
}

/// Like [`env`], serving the content `files`.
pub async fn env_with(files: ContentFiles) -> Env {
    env_on(FakeCluster::new(), files).await
}

/// The app on a simulated lesson cluster without a CNI (`kind-kubelab`, one worker), served
/// on a loopback port: (the environment, `host:port`).
pub async fn served_simulated() -> (Env, String) {
    let fake = FakeCluster::new();
    fake.simulate_kind("kubelab", 1);
    let env = env_on(fake, ContentFiles::embedded()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let router = env.app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (env, addr)
}

/// Like [`env_with`], on a fake set up by the caller (e.g. a simulated kind cluster).
pub async fn env_on(fake: FakeCluster, files: ContentFiles) -> Env {
    let server = fake.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig(&server, "kind-kubelab")).unwrap();
    let store = Store::open(&dir.path().join("kubelab.db")).await.unwrap();
    let catalogue = kubelab::load_content(&files).unwrap();
    let clusters = Clusters::new(
        KubeconfigSource::file(kubeconfig.clone()),
        None,
        AllowedContexts::All,
    );
    let state = AppState::new(
        catalogue,
        store.clone(),
        AllowedHosts::loopback_and(Vec::new()),
        clusters,
    );
    let app = TestApp {
        router: kubelab::app(state.clone()),
        state,
        store,
        dir,
    };
    Env {
        fake,
        server,
        kubeconfig,
        app,
    }
}

pub fn ago(seconds: i64) -> String {
    Timestamp::from_second(Timestamp::now().as_second() - seconds)
        .unwrap()
        .to_string()
}

pub fn node(name: &str, ready: bool, cidr: &str) -> Value {
    let condition = if ready {
        json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"})
    } else {
        json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
               "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"})
    };
    // As kind sets them: the control plane is tainted for workloads, a NotReady node for all.
    let mut taints = Vec::new();
    if name.ends_with("-control-plane") {
        taints
            .push(json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}));
    }
    if !ready {
        taints.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}));
    }
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
           "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "taints": taints},
           "status": {"conditions": [condition], "nodeInfo": {"kubeletVersion": "v1.35.0"}}})
}

/// Two nodes, Ready or not.
pub fn nodes(fake: &FakeCluster, ready: bool) {
    fake.apply(node("kubelab-control-plane", ready, "10.244.0.0/24"));
    fake.apply(node("kubelab-worker", ready, "10.244.1.0/24"));
}

pub fn flannel(fake: &FakeCluster, ready: i32) {
    fake.apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-flannel"}, "status": {"phase": "Active"}}));
    fake.apply(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-flannel-ds", "namespace": "kube-flannel", "labels": {"app": "flannel", "tier": "node"}, "creationTimestamp": ago(600)},
        "spec": {"selector": {"matchLabels": {"app": "flannel"}}, "template": {"metadata": {"labels": {"app": "flannel", "tier": "node"}},
                 "spec": {"containers": [{"name": "kube-flannel", "image": "ghcr.io/flannel-io/flannel:v0.28.9"}]}}},
        "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": ready, "numberAvailable": ready, "numberMisscheduled": 0}
    }));
}

pub fn namespace_test(fake: &FakeCluster) {
    fake.apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}, "status": {"phase": "Active"}}));
}

pub fn running_nginx(fake: &FakeCluster, name: &str, ip: &str) {
    fake.apply(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "test", "uid": format!("uid-{name}"), "creationTimestamp": ago(300)},
        "spec": {"nodeName": "kubelab-worker", "containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "172.18.0.3",
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "nginx", "ready": true, "restartCount": 0, "image": "docker.io/library/nginx:1.25", "imageID": "", "started": true,
                "state": {"running": {"startedAt": ago(298)}}}]}
    }));
}

/// pod1 answers pod2's HTTP probe.
pub fn pod1_reaches_pod2(fake: &FakeCluster) {
    fake.script_exec(
        ExecRule::new("test", "pod1", probe::http("10.244.1.3", 80)).stdout("HTTP/1.1 200\n"),
    );
}

pub fn container_creating(fake: &FakeCluster, name: &str, age: i64) {
    fake.apply(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "test", "uid": format!("uid-{name}"), "creationTimestamp": ago(age)},
        "spec": {"nodeName": "kubelab-worker", "containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        "status": {"phase": "Pending", "hostIP": "172.18.0.3",
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 0, "image": "nginx:1.25", "imageID": "",
                "state": {"waiting": {"reason": "ContainerCreating"}}}]}
    }));
    fake.apply(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.sandbox"), "namespace": "test"},
        "involvedObject": {"kind": "Pod", "name": name, "namespace": "test", "uid": format!("uid-{name}")},
        "reason": "FailedCreatePodSandBox", "type": "Warning", "count": 4, "lastTimestamp": ago(10),
        "message": "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"5c1e\": plugin type=\"flannel\" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory"
    }));
}

pub fn unschedulable(fake: &FakeCluster, name: &str) {
    fake.apply(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "test", "uid": format!("uid-{name}"), "creationTimestamp": ago(120)},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."}]}
    }));
    fake.apply(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.sched"), "namespace": "test"},
        "involvedObject": {"kind": "Pod", "name": name, "namespace": "test", "uid": format!("uid-{name}")},
        "reason": "FailedScheduling", "type": "Warning", "count": 2, "lastTimestamp": ago(60),
        "message": "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    }));
}

pub fn multi_container(fake: &FakeCluster, sidecar_image: &str, sidecar_port: u16, crashing: bool) {
    let sidecar_state = if crashing {
        json!({"name": "sidecar", "ready": false, "restartCount": 4, "image": sidecar_image, "imageID": "",
               "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container=sidecar pod=multi-container_multi(uid)"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ago(40), "finishedAt": ago(37)}}})
    } else {
        json!({"name": "sidecar", "ready": true, "restartCount": 0, "image": sidecar_image, "imageID": "", "state": {"running": {"startedAt": ago(90)}}})
    };
    // The multi-container tasks live in their own namespace, `multi`.
    fake.apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "multi"}, "status": {"phase": "Active"}}));
    fake.apply(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "multi-container", "namespace": "multi", "uid": "uid-multi", "creationTimestamp": ago(95)},
        "spec": {"nodeName": "kubelab-worker", "containers": [
            {"name": "app", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "image": sidecar_image, "ports": [{"containerPort": sidecar_port, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": "10.244.1.8", "podIPs": [{"ip": "10.244.1.8"}],
            "conditions": [{"type": "Ready", "status": if crashing { "False" } else { "True" }}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "image": "nginx:1.25", "imageID": "", "state": {"running": {"startedAt": ago(90)}}},
                sidecar_state]}
    }));
    // Each declared port answers a connection from its container while that one runs.
    fake.script_exec(
        ExecRule::new("multi", "multi-container", probe::tcp("127.0.0.1", 80))
            .container("app")
            .stdout("connected\n"),
    );
    if !crashing {
        fake.script_exec(
            ExecRule::new(
                "multi",
                "multi-container",
                probe::tcp("127.0.0.1", sidecar_port),
            )
            .container("sidecar")
            .stdout("connected\n"),
        );
    }
    if crashing {
        fake.set_log("multi", "multi-container", "sidecar",
            "/docker-entrypoint.sh: Configuration complete; ready for start up\n2026/11/26 09:59:20 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)\nnginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\n");
    }
}

/// Plays the kubelet for kubelab's fault pods: marks them Succeeded once they exist.
pub fn complete_fault_pods(fake: &FakeCluster) -> tokio::task::JoinHandle<()> {
    let fake = fake.clone();
    tokio::spawn(async move {
        loop {
            for mut pod in fake.list("v1", "Pod") {
                let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
                if name.starts_with("kubelab-fault-") && pod["status"]["phase"] != "Succeeded" {
                    pod["apiVersion"] = "v1".into();
                    pod["kind"] = "Pod".into();
                    pod["status"] = serde_json::json!({"phase": "Succeeded"});
                    fake.apply(pod);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
}

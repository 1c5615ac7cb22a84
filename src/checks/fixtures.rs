//! Fixture objects shaped like what a v1.30+ API server returns, for evaluation tests.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::spec::{Check, PodProtocol, Probe};

/// A fixed "now" for tests: 2026-11-26T10:00:00Z.
pub fn now() -> Timestamp {
    "2026-11-26T10:00:00Z".parse().unwrap()
}

/// `seconds` before [`now`], as an RFC 3339 string.
pub fn ago(seconds: i64) -> String {
    Timestamp::from_second(now().as_second() - seconds)
        .unwrap()
        .to_string()
}

fn pod_from(value: Value) -> Pod {
    serde_json::from_value(value).unwrap()
}

/// A Running, Ready single-container nginx pod.
pub fn running_pod(name: &str, ip: &str, age: i64) -> Pod {
    pod_from(json!({
        "metadata": {"name": name, "namespace": "test", "creationTimestamp": ago(age), "uid": format!("uid-{name}")},
        "spec": {"nodeName": "kubelab-worker", "containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
        "status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "172.18.0.3",
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "nginx", "ready": true, "restartCount": 0, "image": "docker.io/library/nginx:1.25", "imageID": "", "started": true,
                "state": {"running": {"startedAt": ago(age - 2)}}}]
        }
    }))
}

/// A pod stuck in ContainerCreating (no sandbox yet).
pub fn creating_pod(name: &str, age: i64) -> Pod {
    pod_from(json!({
        "metadata": {"name": name, "namespace": "test", "creationTimestamp": ago(age)},
        "spec": {"nodeName": "kubelab-worker", "containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        "status": {
            "phase": "Pending", "hostIP": "172.18.0.3",
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 0, "image": "nginx:1.25", "imageID": "",
                "state": {"waiting": {"reason": "ContainerCreating"}}}]
        }
    }))
}

/// A pod that cannot be scheduled (nodes NotReady without a CNI).
pub fn unschedulable_pod(name: &str, age: i64) -> Pod {
    pod_from(json!({
        "metadata": {"name": name, "namespace": "test", "creationTimestamp": ago(age)},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."}]}
    }))
}

/// The broken two-container pod: the second nginx cannot bind port 80.
pub fn port_conflict_pod(age: i64) -> Pod {
    pod_from(json!({
        "metadata": {"name": "multi-container", "namespace": "test", "creationTimestamp": ago(age)},
        "spec": {"containers": [
            {"name": "app", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": "10.244.1.7",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [sidecar]"}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "image": "nginx:1.25", "imageID": "", "state": {"running": {"startedAt": ago(age - 2)}}},
                {"name": "sidecar", "ready": false, "restartCount": 4, "image": "nginx:1.25", "imageID": "",
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container=sidecar pod=multi-container_test"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ago(40), "finishedAt": ago(37)}}}]}
    }))
}

/// The fixed pod: nginx plus redis, both running for `up` seconds.
pub fn fixed_multi_pod(up: i64) -> Pod {
    pod_from(json!({
        "metadata": {"name": "multi-container", "namespace": "test", "creationTimestamp": ago(up + 5)},
        "spec": {"containers": [
            {"name": "app", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
            {"name": "sidecar", "image": "redis:7", "ports": [{"containerPort": 6379}]}]},
        "status": {"phase": "Running", "podIP": "10.244.1.8",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "image": "nginx:1.25", "imageID": "", "state": {"running": {"startedAt": ago(up)}}},
                {"name": "sidecar", "ready": true, "restartCount": 0, "image": "redis:7", "imageID": "", "state": {"running": {"startedAt": ago(up)}}}]}
    }))
}

/// A Warning event about a pod.
pub fn warning(pod: &str, reason: &str, message: &str, age: i64) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{pod}.1"), "namespace": "test"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "test"},
        "reason": reason, "message": message, "type": "Warning", "count": 3,
        "lastTimestamp": ago(age)
    }))
    .unwrap()
}

/// A node, Ready or NotReady for lack of a CNI.
pub fn node(name: &str, ready: bool, cidr: &str) -> Node {
    let condition = if ready {
        json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"})
    } else {
        json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
               "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"})
    };
    let taints = if ready {
        json!([])
    } else {
        json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])
    };
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "taints": taints},
        "status": {"conditions": [condition]}
    }))
    .unwrap()
}

/// The flannel DaemonSet with the given counts.
pub fn flannel(namespace: &str, desired: i32, ready: i32) -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "kube-flannel-ds", "namespace": namespace, "labels": {"app": "flannel", "tier": "node"}},
        "spec": {"selector": {"matchLabels": {"app": "flannel"}},
                 "template": {"metadata": {"labels": {"app": "flannel", "tier": "node"}}, "spec": {"containers": [{"name": "kube-flannel", "image": "ghcr.io/flannel-io/flannel:v0.28.9"}]}}},
        "status": {"desiredNumberScheduled": desired, "currentNumberScheduled": desired, "numberReady": ready,
                   "numberAvailable": ready, "numberMisscheduled": 0}
    }))
    .unwrap()
}

/// kube-proxy's DaemonSet, present on every cluster.
pub fn kube_proxy() -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
        "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}}, "template": {"spec": {"containers": [{"name": "kube-proxy"}]}}},
        "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2, "numberAvailable": 2, "numberMisscheduled": 0}
    }))
    .unwrap()
}

/// A crash-looping flannel pod (br_netfilter missing on the host).
pub fn crashing_flannel_pod(age: i64) -> Pod {
    pod_from(json!({
        "metadata": {"name": "kube-flannel-ds-abcde", "namespace": "kube-flannel", "creationTimestamp": ago(age), "labels": {"app": "flannel"}},
        "spec": {"containers": [{"name": "kube-flannel", "image": "ghcr.io/flannel-io/flannel:v0.28.9"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "kube-flannel", "ready": false, "restartCount": 5, "image": "", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
    }))
}

/// An HTTP pod-to-pod check from pod1 to pod2 in namespace `test`, run in pod1.
pub fn pod_to_pod() -> Check {
    Check::PodToPod {
        namespace: "test".into(),
        from: "pod1".into(),
        from_container: None,
        to: "pod2".into(),
        port: 80,
        protocol: PodProtocol::Http,
        probe: Probe::Exec,
    }
}

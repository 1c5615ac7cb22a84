//! A simulated cluster behind the API: kind-like nodes with their node-side files, a kubelet
//! that runs Pods as their images would, a DaemonSet controller, the garbage collector, and
//! a pod network that answers probes only where a real one would. Off by default (tests
//! write the states they need); [`crate::FakeCluster::simulate_kind`] turns it on, and then
//! a cluster behaves end to end, as `kubelab selftest` needs: a Pod applied becomes Running
//! with an IP from its node's range once the node's CNI works, Flannel's DaemonSet writes the
//! node files that make it work, and a probe reaches only a port a running container binds.

pub(crate) mod controllers;
pub(crate) mod kubelet;
pub(crate) mod network;
pub(crate) mod programs;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Value, json};

use crate::FakeCluster;

/// How often the simulated controllers and kubelet run.
const TICK: Duration = Duration::from_millis(100);

/// One running Pod as the node sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodRuntime {
    pub(crate) node: String,
    pub(crate) host_network: bool,
    /// The sandbox's IP, once the CNI gave one (the node's IP for host-network Pods).
    pub(crate) ip: Option<String>,
    /// Ports bound by running containers, with what answers there.
    pub(crate) listens: Vec<(u16, programs::Service)>,
    /// Running containers.
    pub(crate) running: BTreeSet<String>,
    /// Per container: the image it was started with and when (Unix seconds).
    pub(crate) started: HashMap<String, (String, i64)>,
    /// Init containers that completed.
    pub(crate) initialized: BTreeSet<String>,
}

/// The simulation's own state, beside the objects.
#[derive(Debug, Default)]
pub(crate) struct Sim {
    /// Per node: files on its filesystem that the network depends on, path -> content.
    pub(crate) node_files: BTreeMap<String, BTreeMap<String, String>>,
    /// By Pod uid.
    pub(crate) pods: HashMap<String, PodRuntime>,
    /// Events already recorded, by (Pod uid, reason).
    pub(crate) events: BTreeSet<(String, String)>,
    /// The overlay between nodes is blocked (VXLAN UDP 8472 filtered): traffic across nodes
    /// times out, on one node it flows.
    pub(crate) overlay_blocked: bool,
}

/// The files a node's pod network needs, and why it is not ready without them.
pub(crate) fn network_problem(files: &BTreeMap<String, String>) -> Option<(&'static str, String)> {
    let configs: Vec<(&String, &String)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("/etc/cni/net.d/"))
        .collect();
    if configs.is_empty() {
        return Some((
            "NetworkNotReady",
            "network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized".to_string(),
        ));
    }
    let flannel = configs.iter().any(|(_, c)| c.contains("flannel"));
    if flannel && !files.contains_key("/opt/cni/bin/flannel") {
        return Some((
            "FailedCreatePodSandBox",
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"flannel\" failed (add): failed to find plugin \"flannel\" in path [/opt/cni/bin]".to_string(),
        ));
    }
    if flannel && !files.contains_key("/run/flannel/subnet.env") {
        return Some((
            "FailedCreatePodSandBox",
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"flannel\" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory".to_string(),
        ));
    }
    None
}

/// A kind node: labels, the control plane's taint, its pod range and address, NotReady until
/// a CNI config appears (kind's lesson cluster has no default CNI).
fn kind_node(name: &str, control_plane: bool, index: usize) -> Value {
    let cidr = format!("10.244.{index}.0/24");
    let mut labels = json!({
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
    });
    let mut taints = Vec::new();
    if control_plane {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
        taints
            .push(json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}));
    }
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "providerID": format!("kind://docker/kind/{name}"), "taints": taints},
        "status": {
            "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", index + 2)},
                          {"type": "Hostname", "address": name}],
            "conditions": [],
            "nodeInfo": {"kubeletVersion": "v1.35.0", "containerRuntimeVersion": "containerd://2.1.4",
                         "osImage": "Debian GNU/Linux 12 (bookworm)", "architecture": "amd64", "operatingSystem": "linux"}
        }
    })
}

/// The plugin binaries a kind node image ships (kubelab's cluster create adds `bridge`).
const NODE_PLUGINS: [&str; 5] = ["bridge", "host-local", "loopback", "portmap", "ptp"];

impl FakeCluster {
    /// Turns the simulation on with a kind cluster named `name`: a control plane and
    /// `workers` workers, no CNI (nodes NotReady until one is installed). The controllers and
    /// kubelet run while the server runs (see [`FakeCluster::start`]).
    pub fn simulate_kind(&self, name: &str, workers: usize) {
        let mut inner = self.lock();
        let mut sim = Sim::default();
        let mut nodes = vec![(format!("{name}-control-plane"), true)];
        for i in 1..=workers {
            let suffix = if i == 1 { String::new() } else { i.to_string() };
            nodes.push((format!("{name}-worker{suffix}"), false));
        }
        for (index, (node, control_plane)) in nodes.into_iter().enumerate() {
            if let Ok(object) = inner.normalize(kind_node(&node, control_plane, index)) {
                inner.put(object);
            }
            let files = NODE_PLUGINS
                .iter()
                .map(|p| (format!("/opt/cni/bin/{p}"), "(plugin binary)".to_string()))
                .collect();
            sim.node_files.insert(node, files);
        }
        inner.sim = Some(sim);
        drop(inner);
        controllers::sync_nodes(&mut self.lock());
    }

    /// The files on a simulated node that its pod network depends on (paths).
    pub fn node_files(&self, node: &str) -> Vec<String> {
        self.lock()
            .sim
            .as_ref()
            .and_then(|s| s.node_files.get(node))
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Blocks (or unblocks) the overlay between the simulated nodes, as a firewall dropping
    /// VXLAN's UDP 8472 would: Pod traffic across nodes times out, on one node it flows.
    pub fn block_overlay(&self, blocked: bool) {
        if let Some(sim) = self.lock().sim.as_mut() {
            sim.overlay_blocked = blocked;
        }
    }

    /// Removes a file from a simulated node (a plugin binary gone, for example).
    pub fn remove_node_file(&self, node: &str, path: &str) {
        if let Some(sim) = self.lock().sim.as_mut()
            && let Some(files) = sim.node_files.get_mut(node)
        {
            files.remove(path);
        }
    }

    /// Writes a file on a simulated node (a learner's hand-written CNI config, for example).
    pub fn write_node_file(&self, node: &str, path: &str, content: &str) {
        if let Some(sim) = self.lock().sim.as_mut() {
            sim.node_files
                .entry(node.to_string())
                .or_default()
                .insert(path.to_string(), content.to_string());
        }
    }

    /// One round of the simulated cluster: node readiness, controllers, kubelet.
    pub(crate) fn simulate_once(&self) {
        let mut inner = self.lock();
        if inner.sim.is_none() {
            return;
        }
        controllers::sync_nodes(&mut inner);
        controllers::sync_daemonsets(self, &mut inner);
        controllers::collect_garbage(self, &mut inner);
        kubelet::sync_pods(&mut inner);
    }

    /// Runs the simulation until `stop` is raised (started with the server when it is on).
    pub(crate) async fn simulate(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            self.simulate_once();
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = crate::util::raised(&mut stop) => return,
            }
        }
    }
}

//! A cluster's health at a glance (version, nodes, CNI), kept in a cache that pages read
//! without waiting: a stale entry is refreshed in the background.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use super::{ClusterError, Clusters, Connection};
use crate::checks::pod::node_ready;

/// How long a status stays fresh.
pub const STATUS_TTL: Duration = Duration::from_secs(10);

/// The pod network a cluster runs, recognised by its DaemonSet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Cni {
    /// No known CNI DaemonSet.
    None,
    /// Flannel, and where it runs.
    Flannel {
        /// Its namespace.
        namespace: String,
    },
    /// Another CNI (kindnet, calico, cilium, weave...).
    Other {
        /// Its DaemonSet, `namespace/name`.
        daemonset: String,
    },
}

/// What the header shows about the learner's cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// The context.
    pub context: String,
    /// Reachable and answering.
    pub reachable: bool,
    /// Server version, e.g. v1.35.0.
    pub version: Option<String>,
    /// Nodes in all.
    pub nodes: usize,
    /// Nodes Ready.
    pub ready_nodes: usize,
    /// The pod network.
    pub cni: Option<Cni>,
    /// Why it is unreachable, and what to do.
    pub problem: Option<String>,
}

impl ClusterStatus {
    /// A status for a cluster that could not be reached.
    pub fn unreachable(context: &str, err: &ClusterError) -> ClusterStatus {
        ClusterStatus {
            context: context.to_string(),
            reachable: false,
            version: None,
            nodes: 0,
            ready_nodes: 0,
            cni: None,
            problem: Some(err.to_string()),
        }
    }

    /// One line for the header.
    pub fn summary(&self) -> String {
        if !self.reachable {
            return format!("{}: unreachable", self.context);
        }
        format!(
            "{} · {} · {}/{} nodes Ready",
            self.context,
            self.version.as_deref().unwrap_or("?"),
            self.ready_nodes,
            self.nodes
        )
    }
}

/// Recognises the CNI from the cluster's DaemonSets.
pub fn detect_cni(daemonsets: &[DaemonSet]) -> Cni {
    let known = [
        "kindnet",
        "calico-node",
        "cilium",
        "weave-net",
        "kube-router",
        "antrea-agent",
    ];
    for ds in daemonsets {
        let name = ds.metadata.name.as_deref().unwrap_or("");
        let labels = ds.metadata.labels.as_ref();
        if name.contains("flannel")
            || labels
                .and_then(|l| l.get("app"))
                .is_some_and(|v| v == "flannel")
        {
            return Cni::Flannel {
                namespace: ds.metadata.namespace.clone().unwrap_or_default(),
            };
        }
    }
    for ds in daemonsets {
        let name = ds.metadata.name.as_deref().unwrap_or("");
        if known.iter().any(|k| name.starts_with(k)) {
            return Cni::Other {
                daemonset: format!("{}/{name}", ds.metadata.namespace.as_deref().unwrap_or("")),
            };
        }
    }
    Cni::None
}

/// What setup needs to know about the pod network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodNetwork {
    /// The CNI recognised from the DaemonSets.
    pub cni: Cni,
    /// Nodes whose kubelet reports the network as not ready: `node: reason: message`.
    pub not_ready: Vec<String>,
}

/// Reads the CNI and the nodes whose network is not ready (`NetworkPluginNotReady`).
pub async fn pod_network(conn: &Connection) -> Result<PodNetwork, ClusterError> {
    let daemonsets: Api<DaemonSet> = Api::all(conn.client.clone());
    let daemonsets = conn
        .call(daemonsets.list(&ListParams::default()))
        .await?
        .items;
    let nodes: Api<Node> = Api::all(conn.client.clone());
    let nodes = conn.call(nodes.list(&ListParams::default())).await?.items;
    let not_ready = nodes
        .iter()
        .filter_map(|node| {
            let (status, why) = node_ready(node);
            let network = why.contains("NetworkPluginNotReady") || why.contains("cni plugin");
            (status != "True" && network)
                .then(|| format!("{}: {why}", node.metadata.name.as_deref().unwrap_or("?")))
        })
        .collect();
    Ok(PodNetwork {
        cni: detect_cni(&daemonsets),
        not_ready,
    })
}

/// Reads version, nodes and CNI.
pub async fn probe(conn: &Connection) -> ClusterStatus {
    let version = conn.call(conn.client.apiserver_version()).await;
    let version = match version {
        Ok(info) => info.git_version,
        Err(err) => return ClusterStatus::unreachable(&conn.context, &err),
    };
    let nodes: Api<Node> = Api::all(conn.client.clone());
    let daemonsets: Api<DaemonSet> = Api::all(conn.client.clone());
    let (nodes, daemonsets) = futures_util::future::join(
        conn.call(nodes.list(&ListParams::default())),
        conn.call(daemonsets.list(&ListParams::default())),
    )
    .await;
    let (count, ready, problem) = match nodes {
        Ok(list) => {
            let ready = list
                .items
                .iter()
                .filter(|n| node_ready(n).0 == "True")
                .count();
            (list.items.len(), ready, None)
        }
        Err(err) => (0, 0, Some(err.to_string())),
    };
    ClusterStatus {
        context: conn.context.clone(),
        reachable: true,
        version: Some(version),
        nodes: count,
        ready_nodes: ready,
        cni: daemonsets.ok().map(|l| detect_cni(&l.items)),
        problem,
    }
}

/// Latest status per context, refreshed in the background when stale.
#[derive(Default)]
pub struct StatusCache {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    at: Instant,
    status: Option<ClusterStatus>,
    refreshing: bool,
}

impl StatusCache {
    /// The cached status (maybe stale, maybe none yet) without waiting; starts a refresh
    /// when stale. Needs a Tokio runtime for the refresh.
    pub fn peek(
        self: &Arc<Self>,
        clusters: &Arc<Clusters>,
        context: &str,
    ) -> Option<ClusterStatus> {
        let (status, stale) = match self.entries.lock() {
            Ok(mut entries) => {
                let entry = entries.entry(context.to_string()).or_insert(Entry {
                    at: Instant::now(),
                    status: None,
                    refreshing: false,
                });
                let stale = entry.status.is_none() || entry.at.elapsed() > STATUS_TTL;
                let start = stale && !entry.refreshing;
                if start {
                    entry.refreshing = true;
                }
                (entry.status.clone(), start)
            }
            Err(_) => (None, false),
        };
        if stale {
            let cache = Arc::clone(self);
            let clusters = Arc::clone(clusters);
            let context = context.to_string();
            tokio::spawn(async move {
                cache.refresh(&clusters, &context).await;
            });
        }
        status
    }

    /// Fetches a fresh status now and stores it.
    pub async fn refresh(&self, clusters: &Clusters, context: &str) -> ClusterStatus {
        let status = match clusters.connect(context).await {
            Ok(conn) => probe(&conn).await,
            Err(err) => ClusterStatus::unreachable(context, &err),
        };
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                context.to_string(),
                Entry {
                    at: Instant::now(),
                    status: Some(status.clone()),
                    refreshing: false,
                },
            );
        }
        status
    }
}

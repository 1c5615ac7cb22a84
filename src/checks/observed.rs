//! A plain snapshot of what the checks of a task need from the cluster. The cluster layer
//! fills it (the only place that talks to the API); evaluation reads it and does no I/O.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use k8s_openapi::jiff::Timestamp;

/// `(namespace, name)`.
pub type ObjKey = (String, String);

/// Something to fetch from the API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// One namespace.
    Namespace(String),
    /// One pod and the events about it.
    Pod(String, String),
    /// All nodes.
    Nodes,
    /// All DaemonSets in all namespaces.
    DaemonSets,
    /// The pods of one DaemonSet, by its selector: (namespace, DaemonSet name, label selector).
    DaemonSetPods(String, String, String),
}

/// Where a command runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExecTarget {
    /// A container of an existing pod (None: the pod's only or default container).
    Pod {
        /// Namespace.
        namespace: String,
        /// Pod name.
        pod: String,
        /// Container name.
        container: Option<String>,
    },
    /// A short-lived busybox pod created for the probe in this namespace, always removed.
    ProbePod {
        /// Namespace.
        namespace: String,
    },
}

/// A command to run, as decided by the checks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExecRequest {
    /// Where.
    pub target: ExecTarget,
    /// argv.
    pub command: Vec<String>,
}

impl ExecRequest {
    /// The command as a learner would type it with kubectl.
    pub fn display(&self) -> String {
        let argv = self
            .command
            .iter()
            .map(|a| {
                if a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
                {
                    a.clone()
                } else {
                    format!("'{}'", a.replace('\'', "'\\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        match &self.target {
            ExecTarget::Pod {
                namespace,
                pod,
                container: Some(c),
            } => format!("kubectl exec -n {namespace} {pod} -c {c} -- {argv}"),
            ExecTarget::Pod { namespace, pod, .. } => {
                format!("kubectl exec -n {namespace} {pod} -- {argv}")
            }
            ExecTarget::ProbePod { namespace } => {
                format!(
                    "kubectl run -n {namespace} kubelab-probe --rm -i --image=busybox:1.36 -- {argv}"
                )
            }
        }
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit code (0 on success).
    pub exit_code: i32,
}

/// A log tail to fetch: (namespace, pod, container, previous instance?).
pub type LogRequest = (String, String, String, bool);

/// Everything observed for one check run.
#[derive(Debug, Clone)]
pub struct Observed {
    /// When the observation was made (for ages and stability).
    pub now: Timestamp,
    /// Namespaces asked for: None when absent.
    pub namespaces: BTreeMap<String, Option<Namespace>>,
    /// Pods asked for: None when absent.
    pub pods: BTreeMap<ObjKey, Option<Pod>>,
    /// Events about each pod asked for, oldest first.
    pub pod_events: BTreeMap<ObjKey, Vec<Event>>,
    /// All nodes, when asked for.
    pub nodes: Option<Vec<Node>>,
    /// All DaemonSets, when asked for.
    pub daemonsets: Option<Vec<DaemonSet>>,
    /// Pods of DaemonSets, by DaemonSet key.
    pub daemonset_pods: BTreeMap<ObjKey, Vec<Pod>>,
    /// Log tails of crashing containers.
    pub logs: BTreeMap<LogRequest, String>,
    /// Commands run and what they did, or why they could not run.
    pub execs: BTreeMap<ExecRequest, Result<ExecOutput, String>>,
    /// Needs that could not be fetched, with the reason (unreachable, forbidden, timeout).
    pub failures: BTreeMap<Need, String>,
}

impl Observed {
    /// An empty observation at `now`.
    pub fn new(now: Timestamp) -> Observed {
        Observed {
            now,
            namespaces: BTreeMap::new(),
            pods: BTreeMap::new(),
            pod_events: BTreeMap::new(),
            nodes: None,
            daemonsets: None,
            daemonset_pods: BTreeMap::new(),
            logs: BTreeMap::new(),
            execs: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    /// The failure recorded for a need, if fetching it failed.
    pub fn failure(&self, need: &Need) -> Option<&str> {
        self.failures.get(need).map(String::as_str)
    }
}

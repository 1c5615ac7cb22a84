//! Judging a lesson's debugging checklist from what was observed on the cluster: pure, one
//! step at a time, each with a status, the evidence it saw and what to do next.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::content::model::{DiagnoseKind, DiagnoseStep};

/// A node as the diagnosis sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFact {
    /// Name.
    pub name: String,
    /// The Ready condition is True.
    pub ready: bool,
    /// The Ready condition's reason and message.
    pub message: String,
    /// `spec.podCIDR`.
    pub pod_cidr: Option<String>,
}

/// A DaemonSet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonSetFact {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Container images.
    pub images: Vec<String>,
    /// Pods it should run.
    pub desired: i32,
    /// Pods Ready.
    pub ready: i32,
}

/// A Pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodFact {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The node it is bound to.
    pub node: Option<String>,
    /// Its IP.
    pub ip: Option<String>,
    /// Phase.
    pub phase: String,
    /// The Ready condition is True.
    pub ready: bool,
    /// It uses the node's network (its IP is the node's).
    pub host_network: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A Warning event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFact {
    /// `namespace/kind/name` of the object.
    pub object: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// How often it happened.
    pub count: i32,
}

/// One probe between two probe Pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFact {
    /// The client's node.
    pub from: String,
    /// The server's node.
    pub to: String,
    /// The request got an answer.
    pub ok: bool,
    /// What happened.
    pub detail: String,
}

/// What the probe Pods found, or why they could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probes {
    /// Every pair probed.
    Ran(Vec<ProbeFact>),
    /// The probe Pods did not start (with what they were waiting on).
    NotStarted(String),
    /// Probing was impossible (an API error such as forbidden exec).
    Error(String),
}

/// What one node has on disk for its pod network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFiles {
    /// The node.
    pub node: String,
    /// `/etc/cni/net.d`: (file name, content).
    pub configs: Vec<(String, String)>,
    /// `/opt/cni/bin`: file names.
    pub plugins: Vec<String>,
}

/// The plugin types a CNI config names (`type` of a config, or of each in `plugins`).
fn plugin_types(config: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(config) else {
        return Vec::new();
    };
    let mut types: Vec<String> = value["plugins"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|p| p["type"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(single) = value["type"].as_str() {
        types.push(single.to_string());
    }
    // The flannel plugin delegates to bridge with host-local IPAM unless told otherwise.
    if types.iter().any(|t| t == "flannel") {
        for delegate in ["bridge", "host-local"] {
            if !types.iter().any(|t| t == delegate) {
                types.push(delegate.to_string());
            }
        }
    }
    types
}

/// Judges the CNI files on every node (read through a host-network Pod per node).
pub fn judge_node_files(step: &DiagnoseStep, files: &Result<Vec<NodeFiles>, String>) -> StepResult {
    let files = match files {
        Ok(files) => files,
        Err(reason) => return verdict(step, StepStatus::Error, vec![reason.clone()]),
    };
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for node in files {
        let configs: Vec<&(String, String)> = node
            .configs
            .iter()
            .filter(|(name, _)| name.ends_with(".conf") || name.ends_with(".conflist"))
            .collect();
        let Some((name, text)) = configs.first() else {
            problems.push(format!(
                "{}: /etc/cni/net.d has no CNI configuration",
                node.node
            ));
            continue;
        };
        let missing: Vec<String> = plugin_types(text)
            .into_iter()
            .filter(|t| !node.plugins.contains(t))
            .collect();
        if missing.is_empty() {
            seen.push(format!(
                "{}: /etc/cni/net.d/{name}, its plugins in /opt/cni/bin",
                node.node
            ));
        } else {
            problems.push(format!(
                "{}: /etc/cni/net.d/{name} names {} but /opt/cni/bin lacks {}",
                node.node,
                plugin_types(text).join(", "),
                missing.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        verdict(step, StepStatus::Ok, seen)
    } else {
        verdict(step, StepStatus::Fail, problems)
    }
}

/// Everything the checklist is judged on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterFacts {
    /// Nodes.
    pub nodes: Vec<NodeFact>,
    /// DaemonSets in every namespace.
    pub daemonsets: Vec<DaemonSetFact>,
    /// Pods in every namespace.
    pub pods: Vec<PodFact>,
    /// Recent Warning events in every namespace.
    pub warnings: Vec<EventFact>,
}

/// A step's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Holds.
    Ok,
    /// Holds, but something deserves a look.
    Warn,
    /// Does not hold.
    Fail,
    /// Could not be judged.
    Error,
}

impl StepStatus {
    /// The status's name, as JSON and pages show it.
    pub fn name(self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::Warn => "warn",
            StepStatus::Fail => "fail",
            StepStatus::Error => "error",
        }
    }
}

/// One step of the checklist, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// The step's id.
    pub id: String,
    /// What it makes sure of.
    pub title: String,
    /// Its verdict.
    pub status: StepStatus,
    /// What was seen.
    pub evidence: Vec<String>,
    /// What to do next (empty when it holds).
    pub next: String,
    /// The lesson section that explains it.
    pub section: String,
}

/// Names that mark a DaemonSet as a CNI.
const CNI_NAMES: &[&str] = &[
    "flannel", "calico", "cilium", "weave", "kindnet", "canal", "antrea",
];

fn verdict(step: &DiagnoseStep, status: StepStatus, evidence: Vec<String>) -> StepResult {
    StepResult {
        id: step.id.clone(),
        title: step.title.clone(),
        status,
        next: if status == StepStatus::Ok {
            String::new()
        } else {
            step.fix.clone()
        },
        evidence,
        section: step.section.clone(),
    }
}

/// Every step `error` with the same reason (the cluster could not be observed).
pub fn unjudged(step: &DiagnoseStep, reason: &str) -> StepResult {
    StepResult {
        next: format!("make the cluster reachable first: {reason}"),
        ..verdict(step, StepStatus::Error, vec![reason.to_string()])
    }
}

/// An IPv4 address as a number.
fn ipv4(text: &str) -> Option<u32> {
    let parts: Vec<u32> = text
        .split('.')
        .map(|p| p.parse::<u8>().ok().map(u32::from))
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [a, b, c, d] => Some(a << 24 | b << 16 | c << 8 | d),
        _ => None,
    }
}

/// Whether an IPv4 address is inside an IPv4 CIDR (None when either is not IPv4).
fn inside(ip: &str, cidr: &str) -> Option<bool> {
    let (net, bits) = cidr.split_once('/')?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Some(ipv4(ip)? & mask == ipv4(net)? & mask)
}

/// Judges one step that looks at cluster objects (not the probes).
pub fn judge(step: &DiagnoseStep, facts: &ClusterFacts) -> StepResult {
    use StepStatus::{Fail, Ok, Warn};
    let (status, evidence) = match step.kind {
        DiagnoseKind::NodesReady => {
            let not_ready: Vec<String> = facts
                .nodes
                .iter()
                .filter(|n| !n.ready)
                .map(|n| format!("node {} is NotReady: {}", n.name, n.message))
                .collect();
            match (facts.nodes.is_empty(), not_ready.is_empty()) {
                (true, _) => (Fail, vec!["the cluster has no nodes".to_string()]),
                (false, true) => (
                    Ok,
                    vec![format!("{0} of {0} nodes Ready", facts.nodes.len())],
                ),
                (false, false) => (Fail, not_ready),
            }
        }
        DiagnoseKind::CniDaemonset => {
            let cni: Vec<&DaemonSetFact> = facts
                .daemonsets
                .iter()
                .filter(|d| {
                    CNI_NAMES
                        .iter()
                        .any(|n| d.name.contains(n) || d.images.iter().any(|i| i.contains(n)))
                })
                .collect();
            if cni.is_empty() {
                (
                    Fail,
                    vec!["no CNI DaemonSet in any namespace (kubectl get daemonsets -A)".into()],
                )
            } else {
                let lines: Vec<String> = cni
                    .iter()
                    .map(|d| {
                        format!(
                            "{}/{}: {} of {} Pods Ready",
                            d.namespace, d.name, d.ready, d.desired
                        )
                    })
                    .collect();
                let nodes = i32::try_from(facts.nodes.len()).unwrap_or(i32::MAX);
                let short = cni.iter().any(|d| d.ready < d.desired || d.desired < nodes);
                (if short { Fail } else { Ok }, lines)
            }
        }
        DiagnoseKind::NodePodCidrs => {
            let missing: Vec<String> = facts
                .nodes
                .iter()
                .filter(|n| n.pod_cidr.is_none())
                .map(|n| format!("node {} has no podCIDR", n.name))
                .collect();
            if missing.is_empty() {
                (
                    Ok,
                    facts
                        .nodes
                        .iter()
                        .map(|n| format!("{}: {}", n.name, n.pod_cidr.clone().unwrap_or_default()))
                        .collect(),
                )
            } else {
                (Fail, missing)
            }
        }
        DiagnoseKind::PodIpsInRange => {
            let ranges: BTreeMap<&str, &str> = facts
                .nodes
                .iter()
                .filter_map(|n| Some((n.name.as_str(), n.pod_cidr.as_deref()?)))
                .collect();
            let mut checked = 0;
            let mut outside = Vec::new();
            for pod in facts.pods.iter().filter(|p| !p.host_network) {
                let (Some(ip), Some(node)) = (&pod.ip, &pod.node) else {
                    continue;
                };
                let Some(range) = ranges.get(node.as_str()) else {
                    continue;
                };
                checked += 1;
                if inside(ip, range) == Some(false) {
                    outside.push(format!(
                        "{}/{} has {ip}, outside {node}'s {range}",
                        pod.namespace, pod.name
                    ));
                }
            }
            match (checked, outside.is_empty()) {
                (0, _) => (Warn, vec!["no Pod on the pod network has an IP yet".into()]),
                (n, true) => (
                    Ok,
                    vec![format!("{n} Pod IP(s), each inside its node's podCIDR")],
                ),
                (_, false) => (Fail, outside),
            }
        }
        DiagnoseKind::KubeProxy => {
            let pods: Vec<&PodFact> = facts
                .pods
                .iter()
                .filter(|p| p.labels.get("k8s-app").map(String::as_str) == Some("kube-proxy"))
                .collect();
            if pods.is_empty() {
                (
                    Warn,
                    vec!["no kube-proxy Pods (k8s-app=kube-proxy): fine only if the CNI replaces kube-proxy".into()],
                )
            } else {
                let down: Vec<String> = pods
                    .iter()
                    .filter(|p| p.phase != "Running")
                    .map(|p| format!("{}/{} is {}", p.namespace, p.name, p.phase))
                    .collect();
                let missing: Vec<String> = facts
                    .nodes
                    .iter()
                    .filter(|n| {
                        !pods
                            .iter()
                            .any(|p| p.node.as_deref() == Some(n.name.as_str()))
                    })
                    .map(|n| format!("no kube-proxy Pod on {}", n.name))
                    .collect();
                if down.is_empty() && missing.is_empty() {
                    (
                        Ok,
                        vec![format!("{} kube-proxy Pod(s) Running", pods.len())],
                    )
                } else {
                    (Fail, down.into_iter().chain(missing).collect())
                }
            }
        }
        DiagnoseKind::Coredns => {
            let pods: Vec<&PodFact> = facts
                .pods
                .iter()
                .filter(|p| p.labels.get("k8s-app").map(String::as_str) == Some("kube-dns"))
                .collect();
            if pods.is_empty() {
                (
                    Fail,
                    vec!["no CoreDNS Pods (k8s-app=kube-dns) in any namespace".into()],
                )
            } else if pods.iter().any(|p| p.ready) {
                (
                    Ok,
                    vec![format!(
                        "{} of {} CoreDNS Pod(s) Ready",
                        pods.iter().filter(|p| p.ready).count(),
                        pods.len()
                    )],
                )
            } else {
                (
                    Fail,
                    pods.iter()
                        .map(|p| format!("{}/{} is {} and not Ready", p.namespace, p.name, p.phase))
                        .collect(),
                )
            }
        }
        DiagnoseKind::WarningEvents => {
            let mut by_reason: BTreeMap<&str, (i32, &EventFact)> = BTreeMap::new();
            for e in &facts.warnings {
                let entry = by_reason.entry(e.reason.as_str()).or_insert((0, e));
                entry.0 += e.count.max(1);
            }
            if by_reason.is_empty() {
                (Ok, vec!["no Warning events".into()])
            } else {
                (
                    Warn,
                    by_reason
                        .iter()
                        .map(|(reason, (count, first))| {
                            format!(
                                "{reason} ×{count}, e.g. {}: {}",
                                first.object, first.message
                            )
                        })
                        .collect(),
                )
            }
        }
        DiagnoseKind::PodNetwork | DiagnoseKind::CniNodeFiles | DiagnoseKind::Dns => {
            (StepStatus::Error, vec!["judged from the probe Pods".into()])
        }
    };
    verdict(step, status, evidence)
}

/// Judges the DNS step from a probe Pod's `nslookup` (None: the probe Pods did not run).
pub fn judge_dns(step: &DiagnoseStep, answer: &Option<Result<String, String>>) -> StepResult {
    match answer {
        None => verdict(
            step,
            StepStatus::Fail,
            vec!["no probe Pod ran to ask the cluster DNS (see the pod network step)".into()],
        ),
        Some(Ok(out)) => verdict(
            step,
            StepStatus::Ok,
            vec![format!(
                "kubernetes.default.svc.cluster.local resolves: {}",
                out.lines()
                    .filter(|l| l.starts_with("Address") && !l.contains(":53"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )],
        ),
        Some(Err(why)) => verdict(
            step,
            StepStatus::Fail,
            vec![format!(
                "nslookup kubernetes.default.svc.cluster.local: {why}"
            )],
        ),
    }
}

/// Judges the pod-network step from the probes.
pub fn judge_probes(step: &DiagnoseStep, probes: &Probes) -> StepResult {
    match probes {
        Probes::Error(reason) => verdict(step, StepStatus::Error, vec![reason.clone()]),
        Probes::NotStarted(reason) => verdict(
            step,
            StepStatus::Fail,
            vec![format!("the probe Pods could not start: {reason}")],
        ),
        Probes::Ran(results) => {
            let same_ok = results.iter().filter(|p| p.from == p.to).all(|p| p.ok);
            let evidence: Vec<String> = results
                .iter()
                .map(|p| {
                    let path = if p.from == p.to {
                        format!("on {}", p.from)
                    } else {
                        format!("{} → {}", p.from, p.to)
                    };
                    format!("{path}: {}", p.detail)
                })
                .collect();
            if results.iter().all(|p| p.ok) {
                verdict(step, StepStatus::Ok, evidence)
            } else {
                let mut evidence = evidence;
                evidence.insert(
                    0,
                    if same_ok {
                        "same-node traffic works; across nodes it does not".to_string()
                    } else {
                        "Pods on the same node cannot reach each other either".to_string()
                    },
                );
                verdict(step, StepStatus::Fail, evidence)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(kind: DiagnoseKind) -> DiagnoseStep {
        DiagnoseStep {
            id: "s".into(),
            title: "t".into(),
            kind,
            section: "troubleshooting".into(),
            fix: "do this".into(),
        }
    }

    fn node(name: &str, ready: bool, cidr: Option<&str>) -> NodeFact {
        NodeFact {
            name: name.into(),
            ready,
            message: "KubeletNotReady: cni plugin not initialized".into(),
            pod_cidr: cidr.map(Into::into),
        }
    }

    #[test]
    fn nodes_and_cidrs() {
        let facts = ClusterFacts {
            nodes: vec![
                node("a", true, Some("10.244.0.0/24")),
                node("b", false, None),
            ],
            ..Default::default()
        };
        let r = judge(&step(DiagnoseKind::NodesReady), &facts);
        assert_eq!(r.status, StepStatus::Fail);
        assert!(r.evidence[0].contains("cni plugin not initialized"));
        assert_eq!(r.next, "do this");
        let r = judge(&step(DiagnoseKind::NodePodCidrs), &facts);
        assert_eq!(r.status, StepStatus::Fail);
        assert_eq!(r.evidence, ["node b has no podCIDR"]);
    }

    #[test]
    fn pod_ips_must_be_inside_their_nodes_range() {
        assert_eq!(inside("10.244.1.7", "10.244.1.0/24"), Some(true));
        assert_eq!(inside("10.244.2.7", "10.244.1.0/24"), Some(false));
        assert_eq!(inside("fd00::1", "10.244.1.0/24"), None);
        let facts = ClusterFacts {
            nodes: vec![node("a", true, Some("10.244.1.0/24"))],
            pods: vec![PodFact {
                namespace: "test".into(),
                name: "p".into(),
                node: Some("a".into()),
                ip: Some("10.22.0.5".into()),
                phase: "Running".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = judge(&step(DiagnoseKind::PodIpsInRange), &facts);
        assert_eq!(r.status, StepStatus::Fail, "{r:?}");
    }

    #[test]
    fn probes_tell_same_node_from_cross_node() {
        let probes = Probes::Ran(vec![
            ProbeFact {
                from: "a".into(),
                to: "a".into(),
                ok: true,
                detail: "answered".into(),
            },
            ProbeFact {
                from: "a".into(),
                to: "b".into(),
                ok: false,
                detail: "timed out".into(),
            },
        ]);
        let r = judge_probes(&step(DiagnoseKind::PodNetwork), &probes);
        assert_eq!(r.status, StepStatus::Fail);
        assert!(r.evidence[0].contains("across nodes it does not"));
    }
}

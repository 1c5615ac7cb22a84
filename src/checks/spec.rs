//! Check declarations as written in task files. Evaluation comes later; the shapes here are
//! what content authors write, so every struct rejects unknown fields.

use serde::Deserialize;

/// One scored criterion of a task: a learner-facing sentence, points and the check deciding it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Stable id within the task.
    pub id: String,
    /// What the learner must achieve, in one sentence.
    pub description: String,
    /// Points awarded when the check passes.
    pub points: u32,
    /// The state-based check deciding the criterion.
    pub check: Check,
}

/// Connectivity protocol spoken by a pod-to-pod probe.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PodProtocol {
    /// An HTTP GET that must answer with any status line.
    Http,
    /// A bare TCP connect.
    Tcp,
}

/// Where a pod-to-pod probe runs from.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// Exec into the source pod with the tools its image has.
    #[default]
    Exec,
    /// A short-lived probe pod that the check creates and always removes.
    ProbePod,
}

/// Protocol spoken to 127.0.0.1 inside one pod.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LocalProtocol {
    /// HTTP/1.0 GET, expecting a status line.
    Http,
    /// Redis inline PING, expecting +PONG.
    Redis,
    /// A bare TCP connect.
    Tcp,
}

/// A kind of state-based check, tagged by `kind` in content.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// The namespace exists and is Active.
    NamespaceExists { namespace: String },
    /// The pod is Running with every container Ready, optionally every container running
    /// `image`, each container named in `images` running its image, exactly `containers`
    /// containers, and each of `ports` declared by some container.
    PodRunning {
        namespace: String,
        pod: String,
        image: Option<String>,
        #[serde(default)]
        images: std::collections::BTreeMap<String, String>,
        containers: Option<usize>,
        #[serde(default)]
        ports: Vec<u16>,
    },
    /// The pod has an IP inside `cidr` (default: the nodes' pod CIDRs).
    PodIpInCidr {
        namespace: String,
        pod: String,
        cidr: Option<String>,
    },
    /// Every listed pod has an IP and no two share one.
    DistinctPodIps {
        namespace: String,
        pods: Vec<String>,
    },
    /// Every listed pod is scheduled and no two run on the same node.
    PodsOnDifferentNodes {
        namespace: String,
        pods: Vec<String>,
    },
    /// A DaemonSet found by name and/or label selector is fully rolled out, and its pod
    /// template's containers named in `images` run those images (an unmodified manifest).
    DaemonsetReady {
        name: Option<String>,
        selector: Option<String>,
        namespaces: Option<Vec<String>>,
        #[serde(default)]
        images: std::collections::BTreeMap<String, String>,
    },
    /// Every node's Ready condition is True.
    NodesReady {},
    /// The container runs, is not crash-looping and has been up for `seconds`.
    ContainerStable {
        namespace: String,
        pod: String,
        container: String,
        seconds: u32,
    },
    /// No two containers of the pod declare the same containerPort and protocol.
    UniqueContainerPorts { namespace: String, pod: String },
    /// Every port a container of the pod declares is bound inside the pod.
    DeclaredPortsListening { namespace: String, pod: String },
    /// A command run in a container exits as expected and prints what is expected.
    Exec {
        namespace: String,
        pod: String,
        container: String,
        command: Vec<String>,
        #[serde(default)]
        exit_code: i32,
        stdout_contains: Option<String>,
        stdout_regex: Option<String>,
    },
    /// One pod reaches another pod's IP and port.
    PodToPod {
        namespace: String,
        from: String,
        from_container: Option<String>,
        to: String,
        port: u16,
        protocol: PodProtocol,
        #[serde(default)]
        probe: Probe,
    },
    /// One container reaches another of the same pod on 127.0.0.1.
    Localhost {
        namespace: String,
        pod: String,
        from_container: String,
        port: u16,
        protocol: LocalProtocol,
    },
}

impl Check {
    /// The content name of this check's kind, as written after `kind:`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Check::NamespaceExists { .. } => "namespace-exists",
            Check::PodRunning { .. } => "pod-running",
            Check::PodIpInCidr { .. } => "pod-ip-in-cidr",
            Check::DistinctPodIps { .. } => "distinct-pod-ips",
            Check::PodsOnDifferentNodes { .. } => "pods-on-different-nodes",
            Check::DaemonsetReady { .. } => "daemonset-ready",
            Check::NodesReady {} => "nodes-ready",
            Check::ContainerStable { .. } => "container-stable",
            Check::UniqueContainerPorts { .. } => "unique-container-ports",
            Check::DeclaredPortsListening { .. } => "declared-ports-listening",
            Check::Exec { .. } => "exec",
            Check::PodToPod { .. } => "pod-to-pod",
            Check::Localhost { .. } => "localhost",
        }
    }

    /// Problems a loader can see without a cluster (bad CIDR, bad regex, empty lists).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Check::PodIpInCidr {
                cidr: Some(cidr), ..
            } if parse_cidr(cidr).is_none() => {
                out.push(format!(
                    "`{cidr}` is not an IPv4 or IPv6 CIDR such as 10.244.0.0/16"
                ));
            }
            Check::DistinctPodIps { pods, .. } if pods.len() < 2 => {
                out.push("distinct-pod-ips needs at least two pods".to_string());
            }
            Check::PodsOnDifferentNodes { pods, .. } if pods.len() < 2 => {
                out.push("pods-on-different-nodes needs at least two pods".to_string());
            }
            Check::DaemonsetReady {
                name: None,
                selector: None,
                ..
            } => out.push("daemonset-ready needs a name, a selector or both".to_string()),
            Check::Exec { command, .. } if command.is_empty() => {
                out.push("exec needs a non-empty command".to_string());
            }
            Check::Exec {
                stdout_regex: Some(re),
                ..
            } => {
                if let Err(err) = regex::Regex::new(re) {
                    out.push(format!("stdout_regex does not compile: {err}"));
                }
            }
            Check::ContainerStable { seconds: 0, .. } => {
                out.push("container-stable needs seconds > 0".to_string());
            }
            _ => {}
        }
        out
    }
}

/// Parses `addr/prefix` into an address and prefix length, checking the prefix range.
pub fn parse_cidr(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: std::net::IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::pod_to_pod;

    #[test]
    fn parses_a_tagged_check() {
        let yaml =
            "kind: pod-to-pod\nnamespace: test\nfrom: pod1\nto: pod2\nport: 80\nprotocol: http\n";
        let check: Check = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(check, pod_to_pod());
        assert_eq!(check.kind_name(), "pod-to-pod");
    }

    #[test]
    fn rejects_unknown_fields_and_kinds() {
        let typo = "kind: namespace-exists\nnamespce: test\n";
        let err = serde_yaml_ng::from_str::<Check>(typo)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `namespce`"), "{err}");
        let unknown = "kind: pod-dancing\nnamespace: test\n";
        let err = serde_yaml_ng::from_str::<Check>(unknown)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `pod-dancing`"), "{err}");
    }

    #[test]
    fn static_problems_are_reported() {
        let check = Check::PodIpInCidr {
            namespace: "t".into(),
            pod: "p".into(),
            cidr: Some("10.244.0.0/33".into()),
        };
        assert_eq!(check.problems().len(), 1);
        assert!(parse_cidr("10.244.0.0/16").is_some());
        assert!(parse_cidr("fd00::/64").is_some());
        assert!(parse_cidr("10.244.0.0").is_none());
        let ds = Check::DaemonsetReady {
            name: None,
            selector: None,
            namespaces: None,
            images: Default::default(),
        };
        assert_eq!(ds.problems().len(), 1);
    }
}

//! What to observe for a task's checks, decided without I/O: first the objects, then, from
//! what they show, the log tails and the commands to run.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;

use super::observed::{ExecRequest, ExecTarget, LogRequest, Need, Observed};
use super::pod;
use super::probe;
use super::spec::{Check, Criterion, LocalProtocol, PodProtocol, Probe};

/// The objects the checks read.
pub fn needs(criteria: &[Criterion]) -> BTreeSet<Need> {
    let mut out = BTreeSet::new();
    for criterion in criteria {
        match &criterion.check {
            Check::NamespaceExists { namespace } => {
                out.insert(Need::Namespace(namespace.clone()));
            }
            Check::PodRunning { namespace, pod, .. }
            | Check::ContainerStable { namespace, pod, .. }
            | Check::UniqueContainerPorts { namespace, pod }
            | Check::DeclaredPortsListening { namespace, pod }
            | Check::Exec { namespace, pod, .. }
            | Check::Localhost { namespace, pod, .. } => {
                out.insert(Need::Pod(namespace.clone(), pod.clone()));
            }
            Check::PodIpInCidr {
                namespace,
                pod,
                cidr,
            } => {
                out.insert(Need::Pod(namespace.clone(), pod.clone()));
                if cidr.is_none() {
                    out.insert(Need::Nodes);
                }
            }
            Check::DistinctPodIps { namespace, pods }
            | Check::PodsOnDifferentNodes { namespace, pods } => {
                for pod in pods {
                    out.insert(Need::Pod(namespace.clone(), pod.clone()));
                }
            }
            Check::DaemonsetReady { .. } => {
                out.insert(Need::DaemonSets);
            }
            Check::NodesReady {} => {
                out.insert(Need::Nodes);
            }
            Check::PodToPod {
                namespace,
                from,
                to,
                ..
            } => {
                out.insert(Need::Pod(namespace.clone(), from.clone()));
                out.insert(Need::Pod(namespace.clone(), to.clone()));
            }
        }
    }
    out
}

/// Parses an equality-based label selector (`a=b,c=d`); None if it uses anything else.
pub fn parse_selector(selector: &str) -> Option<BTreeMap<String, String>> {
    selector
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=')?;
            let v = v.strip_prefix('=').unwrap_or(v);
            (!k.ends_with('!')).then(|| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// DaemonSets matching a daemonset-ready check, in the order the API listed them.
pub fn matching_daemonsets<'a>(
    all: &'a [DaemonSet],
    name: Option<&str>,
    selector: Option<&str>,
    namespaces: Option<&[String]>,
) -> Vec<&'a DaemonSet> {
    let wanted = selector.and_then(parse_selector);
    all.iter()
        .filter(|ds| {
            let meta = &ds.metadata;
            let in_namespace = namespaces
                .is_none_or(|list| list.iter().any(|n| Some(n) == meta.namespace.as_ref()));
            let by_name = name.is_some_and(|n| meta.name.as_deref() == Some(n));
            let by_label = wanted.as_ref().is_some_and(|labels| {
                !labels.is_empty()
                    && labels.iter().all(|(k, v)| {
                        meta.labels.as_ref().and_then(|l| l.get(k)) == Some(v)
                            || ds
                                .spec
                                .template
                                .metadata
                                .as_ref()
                                .and_then(|m| m.labels.as_ref())
                                .and_then(|l| l.get(k))
                                == Some(v)
                    })
            });
            in_namespace && (by_name || by_label)
        })
        .collect()
}

/// The pods of each matching DaemonSet, fetched by the DaemonSet's own selector.
pub fn daemonset_pod_needs(criteria: &[Criterion], observed: &Observed) -> BTreeSet<Need> {
    let mut out = BTreeSet::new();
    let Some(all) = &observed.daemonsets else {
        return out;
    };
    for criterion in criteria {
        if let Check::DaemonsetReady {
            name,
            selector,
            namespaces,
            ..
        } = &criterion.check
        {
            for ds in matching_daemonsets(
                all,
                name.as_deref(),
                selector.as_deref(),
                namespaces.as_deref(),
            ) {
                let labels = ds
                    .spec
                    .selector
                    .match_labels
                    .as_ref()
                    .map(|l| {
                        l.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                if let (Some(ns), Some(n), false) =
                    (&ds.metadata.namespace, &ds.metadata.name, labels.is_empty())
                {
                    out.insert(Need::DaemonSetPods(ns.clone(), n.clone(), labels));
                }
            }
        }
    }
    out
}

/// Log tails worth showing: every container of an observed pod that is crashing or has
/// crashed (its previous instance when it restarted).
pub fn log_requests(observed: &Observed) -> BTreeSet<LogRequest> {
    let pods = observed
        .pods
        .values()
        .flatten()
        .chain(observed.daemonset_pods.values().flatten());
    let mut out = BTreeSet::new();
    for pod in pods {
        let (Some(ns), Some(name)) = (&pod.metadata.namespace, &pod.metadata.name) else {
            continue;
        };
        for status in pod::container_statuses(pod) {
            if pod::is_crashing(status) {
                out.insert((
                    ns.clone(),
                    name.clone(),
                    status.name.clone(),
                    status.restart_count > 0,
                ));
            }
        }
    }
    out
}

fn running_pod<'a>(observed: &'a Observed, namespace: &str, name: &str) -> Option<&'a Pod> {
    observed
        .pods
        .get(&(namespace.to_string(), name.to_string()))
        .and_then(Option::as_ref)
        .filter(|p| pod::phase(p) == "Running")
}

/// The command a check runs, once the pods it needs are observed running.
pub fn exec_request(check: &Check, observed: &Observed) -> Option<ExecRequest> {
    match check {
        // Both run in a named container of their own pod.
        Check::Exec {
            namespace,
            pod,
            container,
            ..
        }
        | Check::Localhost {
            namespace,
            pod,
            from_container: container,
            ..
        } => {
            running_pod(observed, namespace, pod)?;
            Some(ExecRequest {
                target: ExecTarget::Pod {
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    container: Some(container.clone()),
                },
                command: in_pod_command(check)?,
            })
        }
        Check::PodToPod {
            namespace,
            from,
            from_container,
            to,
            port,
            protocol,
            probe,
        } => {
            let target_pod = observed
                .pods
                .get(&(namespace.clone(), to.clone()))
                .and_then(Option::as_ref)?;
            let ip = pod::ip(target_pod)?;
            let command = match protocol {
                PodProtocol::Http => probe::http(ip, *port),
                PodProtocol::Tcp => probe::tcp(ip, *port),
            };
            let target = match probe {
                Probe::Exec => {
                    running_pod(observed, namespace, from)?;
                    ExecTarget::Pod {
                        namespace: namespace.clone(),
                        pod: from.clone(),
                        container: from_container.clone(),
                    }
                }
                Probe::ProbePod => ExecTarget::ProbePod {
                    namespace: namespace.clone(),
                },
            };
            Some(ExecRequest { target, command })
        }
        _ => None,
    }
}

/// What an exec or localhost check runs in its own container: the author's command, or a
/// probe of 127.0.0.1.
fn in_pod_command(check: &Check) -> Option<Vec<String>> {
    match check {
        Check::Exec { command, .. } => Some(command.clone()),
        Check::Localhost { port, protocol, .. } => Some(match protocol {
            LocalProtocol::Http => probe::http("127.0.0.1", *port),
            LocalProtocol::Redis => probe::redis_ping(*port),
            LocalProtocol::Tcp => probe::tcp("127.0.0.1", *port),
        }),
        _ => None,
    }
}

/// Every command the checks need run.
pub fn exec_requests(criteria: &[Criterion], observed: &Observed) -> BTreeSet<ExecRequest> {
    let ports = criteria.iter().flat_map(|c| match &c.check {
        Check::DeclaredPortsListening { namespace, pod } => {
            super::evaluate::listening::requests(namespace, pod, observed)
        }
        _ => Vec::new(),
    });
    criteria
        .iter()
        .filter_map(|c| exec_request(&c.check, observed))
        .chain(ports)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let s = parse_selector("app=flannel, tier==node").unwrap();
        assert_eq!(s.get("app").map(String::as_str), Some("flannel"));
        assert_eq!(s.get("tier").map(String::as_str), Some("node"));
        assert!(parse_selector("app!=x").is_none());
        assert!(parse_selector("app").is_none());
    }
}

//! What a diagnosis needs from the cluster: nodes, DaemonSets, Pods and recent Warning events
//! in one pass, and the pod network probed with short-lived busybox Pods (two per node, in a
//! labelled namespace of the run's own that is deleted afterwards, also when the diagnosis is
//! cancelled).

use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use super::{ClusterError, Connection};
use crate::checks::diagnose::{
    ClusterFacts, DaemonSetFact, EventFact, NodeFact, NodeFiles, PodFact, ProbeFact, Probes,
};
use crate::checks::observed::{ExecRequest, ExecTarget};

/// The probe Pods of one diagnosis live in a namespace of their own named with this prefix:
/// a run right after another must not wait for the previous one's namespace to terminate.
pub const NAMESPACE_PREFIX: &str = "kubelab-diagnose";

/// A fresh namespace name for one diagnosis' probe Pods.
pub fn run_namespace() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 5];
    // Without randomness the fixed prefix still works (one run at a time).
    let _ = getrandom::fill(&mut bytes);
    let tail: String = bytes
        .iter()
        .map(|b| LETTERS[usize::from(*b) % LETTERS.len()] as char)
        .collect();
    format!("{NAMESPACE_PREFIX}-{tail}")
}
/// The port the probe Pods serve on.
const PORT: u16 = 8080;

/// Nodes, DaemonSets, Pods and Warning events of the whole cluster.
pub async fn observe(conn: &Connection) -> Result<ClusterFacts, ClusterError> {
    let client = conn.client.clone();
    let lp = ListParams::default();
    let nodes: Api<Node> = Api::all(client.clone());
    let daemonsets: Api<DaemonSet> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let events: Api<Event> = Api::all(client);
    let warnings = ListParams::default().fields("type=Warning");
    let (nodes, daemonsets, pods, events) = tokio::try_join!(
        conn.call(nodes.list(&lp)),
        conn.call(daemonsets.list(&lp)),
        conn.call(pods.list(&lp)),
        conn.call(events.list(&warnings)),
    )?;
    let nodes = nodes
        .items
        .into_iter()
        .map(|n| {
            let ready = n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .cloned();
            NodeFact {
                name: n.metadata.name.unwrap_or_default(),
                ready: ready.as_ref().is_some_and(|c| c.status == "True"),
                message: ready
                    .map(|c| {
                        format!(
                            "{}: {}",
                            c.reason.unwrap_or_default(),
                            c.message.unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| "no Ready condition".into()),
                pod_cidr: n.spec.and_then(|s| s.pod_cidr),
            }
        })
        .collect();
    let daemonsets = daemonsets
        .items
        .into_iter()
        .map(|d| DaemonSetFact {
            namespace: d.metadata.namespace.unwrap_or_default(),
            name: d.metadata.name.unwrap_or_default(),
            images: d
                .spec
                .template
                .spec
                .map(|s| s.containers.into_iter().filter_map(|c| c.image).collect())
                .unwrap_or_default(),
            desired: d.status.as_ref().map_or(0, |s| s.desired_number_scheduled),
            ready: d.status.as_ref().map_or(0, |s| s.number_ready),
        })
        .collect();
    let pods = pods
        .items
        .into_iter()
        .map(|p| {
            let status = p.status.unwrap_or_default();
            PodFact {
                namespace: p.metadata.namespace.unwrap_or_default(),
                name: p.metadata.name.unwrap_or_default(),
                labels: p.metadata.labels.unwrap_or_default(),
                node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
                host_network: p.spec.as_ref().and_then(|s| s.host_network) == Some(true),
                ip: status.pod_ip.clone(),
                phase: status.phase.clone().unwrap_or_default(),
                ready: status
                    .conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "Ready" && c.status == "True"),
            }
        })
        .collect();
    let warnings = events
        .items
        .into_iter()
        .map(|e| EventFact {
            object: format!(
                "{}/{}/{}",
                e.involved_object.namespace.unwrap_or_default(),
                e.involved_object.kind.unwrap_or_default(),
                e.involved_object.name.unwrap_or_default()
            ),
            reason: e.reason.unwrap_or_default(),
            message: e.message.unwrap_or_default(),
            count: e.count.unwrap_or(1),
        })
        .collect();
    Ok(ClusterFacts {
        nodes,
        daemonsets,
        pods,
        warnings,
    })
}

/// Deletes the probe namespace when dropped, however the diagnosis ended.
struct Cleanup {
    api: Api<Namespace>,
    namespace: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let api = self.api.clone();
        let namespace = std::mem::take(&mut self.namespace);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let params = DeleteParams::default().grace_period(0);
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), api.delete(&namespace, &params))
                        .await;
            });
        }
    }
}

/// Deletes the probe namespace `ns` (and its Pods) now; already gone is fine.
pub async fn clean_up(conn: &Connection, ns: &str) {
    let namespaces: Api<Namespace> = Api::all(conn.client.clone());
    let params = DeleteParams::default().grace_period(0);
    let _ = tokio::time::timeout(Duration::from_secs(10), namespaces.delete(ns, &params)).await;
}

/// Makes the probe namespace `ns` (existing is fine).
async fn probe_namespace(conn: &Connection, ns_name: &str) -> Result<(), String> {
    let namespaces: Api<Namespace> = Api::all(conn.client.clone());
    let ns: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns_name, "labels": {"app.kubernetes.io/managed-by": "kubelab"}},
    }))
    .map_err(|e| e.to_string())?;
    match conn
        .call(namespaces.create(&PostParams::default(), &ns))
        .await
    {
        Ok(_) | Err(ClusterError::Api { code: 409, .. }) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// A labelled busybox Pod pinned to `node`, tolerating every taint, running `command`.
fn busybox_pod(ns: &str, name: &str, node: &str, command: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
            "labels": {"app.kubernetes.io/managed-by": "kubelab", "kubelab.dev/probe": "diagnose"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "probe", "image": super::exec::PROBE_IMAGE, "command": command}],
        },
    })
}

/// A host-network busybox Pod on `node` that sees the node's CNI folders under `/host`: it
/// needs no pod network, so it runs where the CNI is broken.
fn files_pod(ns: &str, name: &str, node: &str) -> serde_json::Value {
    let mut pod = busybox_pod(ns, name, node, json!(["sleep", "3600"]));
    pod["spec"]["hostNetwork"] = json!(true);
    pod["spec"]["containers"][0]["volumeMounts"] = json!([
        {"name": "net-d", "mountPath": "/host/etc/cni/net.d", "readOnly": true},
        {"name": "bin", "mountPath": "/host/opt/cni/bin", "readOnly": true},
    ]);
    pod["spec"]["volumes"] = json!([
        {"name": "net-d", "hostPath": {"path": "/etc/cni/net.d"}},
        {"name": "bin", "hostPath": {"path": "/opt/cni/bin"}},
    ]);
    pod
}

/// Runs a command in a probe Pod; its stdout, or why not.
async fn run_in(
    conn: &Connection,
    ns: &str,
    pod: &str,
    command: &[&str],
) -> Result<String, String> {
    let request = ExecRequest {
        target: ExecTarget::Pod {
            namespace: ns.into(),
            pod: pod.into(),
            container: None,
        },
        command: command.iter().map(|s| s.to_string()).collect(),
    };
    match super::exec::run(conn, &request).await {
        Ok(out) if out.exit_code == 0 => Ok(out.stdout),
        Ok(out) => Err(out.stderr.trim().to_string()),
        Err(ClusterError::Forbidden(m)) => Err(format!(
            "exec into Pods is forbidden for this user, so the nodes' files cannot be read: {m}"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads each node's `/etc/cni/net.d` (with every config's content) and `/opt/cni/bin`
/// through a host-network Pod per node, within `budget` for the Pods to start.
pub async fn read_node_files(
    conn: &Connection,
    ns: &str,
    nodes: &[String],
    budget: Duration,
) -> Result<Vec<NodeFiles>, String> {
    probe_namespace(conn, ns).await?;
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), ns);
    let name = |i: usize| format!("files-{i}");
    for (i, node) in nodes.iter().enumerate() {
        let pod: Pod =
            serde_json::from_value(files_pod(ns, &name(i), node)).map_err(|e| e.to_string())?;
        match conn.call(pods.create(&PostParams::default(), &pod)).await {
            Ok(_) | Err(ClusterError::Api { code: 409, .. }) => {}
            Err(e) => return Err(format!("cannot create the file-reading Pods: {e}")),
        }
    }
    let since = tokio::time::Instant::now();
    loop {
        let listed = conn
            .call(pods.list(&ListParams::default()))
            .await
            .map_err(|e| e.to_string())?;
        let running = (0..nodes.len()).all(|i| {
            listed.items.iter().any(|p| {
                p.metadata.name.as_deref() == Some(name(i).as_str())
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            })
        });
        if running {
            break;
        }
        if since.elapsed() >= budget {
            return Err(format!(
                "the host-network Pods that read the nodes' files did not start within {} s",
                budget.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut out = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let pod = name(i);
        let listing = run_in(conn, ns, &pod, &["ls", "/host/etc/cni/net.d"]).await?;
        let mut configs = Vec::new();
        for file in listing.split_whitespace() {
            let path = format!("/host/etc/cni/net.d/{file}");
            let text = run_in(conn, ns, &pod, &["cat", &path])
                .await
                .unwrap_or_default();
            configs.push((file.to_string(), text));
        }
        let plugins = run_in(conn, ns, &pod, &["ls", "/host/opt/cni/bin"])
            .await?
            .split_whitespace()
            .map(str::to_string)
            .collect();
        out.push(NodeFiles {
            node: node.clone(),
            configs,
            plugins,
        });
    }
    Ok(out)
}

/// A busybox Pod on `node`'s pod network that serves `ok` over HTTP.
fn probe_pod(ns: &str, name: &str, node: &str) -> serde_json::Value {
    busybox_pod(
        ns,
        name,
        node,
        json!([
            "sh",
            "-c",
            format!("echo ok > /tmp/index.html && httpd -f -p {PORT} -h /tmp")
        ]),
    )
}

/// Two probe Pods per node (`a` asks, `b` answers): each node's `a` asks its own node's `b`
/// and every other node's `b`. Bounded by `budget`; the namespace goes afterwards.
pub async fn probe_network(
    conn: &Connection,
    ns: &str,
    nodes: &[String],
    budget: Duration,
) -> (Probes, Option<Result<String, String>>) {
    let mut dns = None;
    let probes = probe_pairs(conn, ns, nodes, budget, &mut dns).await;
    (probes, dns)
}

/// The pairs of [`probe_network`]; `dns` gets the first client's `nslookup` of the API
/// server's Service name once the Pods run.
async fn probe_pairs(
    conn: &Connection,
    ns: &str,
    nodes: &[String],
    budget: Duration,
    dns: &mut Option<Result<String, String>>,
) -> Probes {
    if nodes.is_empty() {
        return Probes::NotStarted("the cluster has no nodes".into());
    }
    let client = conn.client.clone();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if let Err(e) = probe_namespace(conn, ns).await {
        return Probes::Error(e);
    }
    let _cleanup = Cleanup {
        api: namespaces,
        namespace: ns.to_string(),
    };
    let pods: Api<Pod> = Api::namespaced(client, ns);
    let name = |i: usize, role: &str| format!("probe-{i}-{role}");
    for (i, node) in nodes.iter().enumerate() {
        for role in ["a", "b"] {
            let pod: Pod = match serde_json::from_value(probe_pod(ns, &name(i, role), node)) {
                Ok(p) => p,
                Err(e) => return Probes::Error(e.to_string()),
            };
            match conn.call(pods.create(&PostParams::default(), &pod)).await {
                Ok(_) | Err(ClusterError::Api { code: 409, .. }) => {}
                Err(e) => return Probes::Error(format!("cannot create probe Pods: {e}")),
            }
        }
    }
    // Wait for every probe Pod to run with an IP.
    let since = tokio::time::Instant::now();
    let ips = loop {
        let listed = match conn.call(pods.list(&ListParams::default())).await {
            Ok(l) => l.items,
            Err(e) => return Probes::Error(e.to_string()),
        };
        let ip_of = |wanted: &str| {
            listed.iter().find_map(|p| {
                let s = p.status.as_ref()?;
                (p.metadata.name.as_deref() == Some(wanted)
                    && s.phase.as_deref() == Some("Running"))
                .then(|| s.pod_ip.clone())
                .flatten()
            })
        };
        let all: Option<Vec<(String, String)>> = (0..nodes.len())
            .map(|i| Some((ip_of(&name(i, "a"))?, ip_of(&name(i, "b"))?)))
            .collect();
        if let Some(all) = all {
            break all;
        }
        if since.elapsed() >= budget {
            let waiting: Vec<String> = listed
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running"))
                .map(|p| {
                    let reason = p
                        .status
                        .as_ref()
                        .and_then(|s| s.container_statuses.as_ref())
                        .and_then(|c| c.first())
                        .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
                        .unwrap_or_else(|| "Pending".into());
                    format!("{} {reason}", p.metadata.name.clone().unwrap_or_default())
                })
                .collect();
            return Probes::NotStarted(format!(
                "still not running after {} s: {}",
                budget.as_secs(),
                waiting.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    *dns = Some(
        run_in(
            conn,
            ns,
            &name(0, "a"),
            &["nslookup", "kubernetes.default.svc.cluster.local"],
        )
        .await,
    );
    let mut results = Vec::new();
    for (i, from) in nodes.iter().enumerate() {
        for (j, to) in nodes.iter().enumerate() {
            let url = format!("http://{}:{PORT}/", ips[j].1);
            let request = ExecRequest {
                target: ExecTarget::Pod {
                    namespace: ns.into(),
                    pod: name(i, "a"),
                    container: None,
                },
                command: vec![
                    "wget".into(),
                    "-q".into(),
                    "-T".into(),
                    "2".into(),
                    "-O-".into(),
                    url.clone(),
                ],
            };
            match super::exec::run(conn, &request).await {
                Ok(out) if out.exit_code == 0 => results.push(ProbeFact {
                    from: from.clone(),
                    to: to.clone(),
                    ok: true,
                    detail: format!("{} ({}) reached {url}", name(i, "a"), ips[i].0),
                }),
                Ok(out) => results.push(ProbeFact {
                    from: from.clone(),
                    to: to.clone(),
                    ok: false,
                    detail: format!(
                        "{} could not reach {url}: {}",
                        name(i, "a"),
                        out.stderr.trim()
                    ),
                }),
                Err(ClusterError::Forbidden(m)) => {
                    return Probes::Error(format!(
                        "exec into Pods is forbidden for this user, so the pod network cannot be probed: {m}"
                    ));
                }
                Err(e) => return Probes::Error(e.to_string()),
            }
        }
    }
    Probes::Ran(results)
}

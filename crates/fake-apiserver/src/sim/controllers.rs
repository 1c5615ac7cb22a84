//! The controllers a kind cluster runs that kubelab's tasks depend on: node readiness from
//! the node's CNI files (with the `not-ready` taint the node lifecycle controller sets), the
//! DaemonSet controller (a Pod per eligible node, rolled when the template's images change,
//! status counts), and the garbage collector (Pods of a deleted DaemonSet go too).

use serde_json::{Value, json};

use super::network_problem;
use crate::FakeCluster;
use crate::lifecycle::{is_deleting, tolerates};
use crate::store::{Inner, ObjectKey};
use crate::util::{now_rfc3339, random_suffix};

const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";

/// Sets each simulated node's Ready condition and `not-ready` taint from its CNI files.
pub(crate) fn sync_nodes(inner: &mut Inner) {
    let Some(sim) = inner.sim.as_ref() else {
        return;
    };
    let mut updates = Vec::new();
    for (key, node) in inner.objects_of("v1", "Node", None) {
        let Some(files) = sim.node_files.get(&key.name) else {
            continue;
        };
        let problem = network_problem(files).filter(|(reason, _)| *reason == "NetworkNotReady");
        let ready = problem.is_none();
        let condition = if ready {
            json!({"type": "Ready", "status": "True", "reason": "KubeletReady",
                   "message": "kubelet is posting ready status"})
        } else {
            json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                   "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"})
        };
        let was_ready = node
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
            .map(|c| c["status"] == "True");
        if was_ready == Some(ready) {
            continue;
        }
        let mut node = node.clone();
        let mut condition = condition;
        condition["lastTransitionTime"] = json!(now_rfc3339());
        condition["lastHeartbeatTime"] = json!(now_rfc3339());
        node["status"]["conditions"] = json!([condition]);
        let mut taints: Vec<Value> = node
            .pointer("/spec/taints")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        taints.retain(|t| t["key"] != NOT_READY_TAINT);
        if !ready {
            taints.push(json!({"key": NOT_READY_TAINT, "effect": "NoSchedule",
                               "timeAdded": now_rfc3339()}));
        }
        node["spec"]["taints"] = json!(taints);
        updates.push(node);
    }
    for node in updates {
        inner.put(node);
    }
}

/// The tolerations the DaemonSet controller adds to every daemon Pod.
fn daemon_tolerations(host_network: bool) -> Vec<Value> {
    let mut t = vec![
        json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}),
        json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}),
        json!({"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"}),
        json!({"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}),
        json!({"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"}),
        json!({"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}),
    ];
    if host_network {
        t.push(json!({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}));
    }
    t
}

/// Whether a node's labels satisfy a required node affinity (`In`, `NotIn`, `Exists`,
/// `DoesNotExist` expressions; terms are ORed).
fn affinity_allows(spec: &Value, node: &Value) -> bool {
    let Some(terms) = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
    else {
        return true;
    };
    let labels = node.pointer("/metadata/labels");
    terms.iter().any(|term| {
        term.get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .all(|e| {
                let value = labels
                    .and_then(|l| l.get(e["key"].as_str().unwrap_or("")))
                    .and_then(Value::as_str);
                let values: Vec<&str> = e["values"]
                    .as_array()
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e["operator"].as_str().unwrap_or("") {
                    "In" => value.is_some_and(|v| values.contains(&v)),
                    "NotIn" => value.is_none_or(|v| !values.contains(&v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    })
}

/// Whether a daemon Pod with `spec` may run on `node`.
fn eligible(spec: &Value, node: &Value) -> bool {
    let selector_ok = spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| {
            sel.iter()
                .all(|(k, v)| node.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        });
    let tolerations: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let taints_ok = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
        .all(|taint| tolerations.iter().any(|t| tolerates(t, taint)));
    selector_ok && taints_ok && affinity_allows(spec, node)
}

fn images(spec: &Value) -> Vec<Value> {
    ["containers", "initContainers"]
        .iter()
        .flat_map(|l| {
            spec.get(*l)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| c["image"].clone())
        .collect()
}

fn owned_by<'a>(
    inner: &'a Inner,
    uid: &'a str,
) -> impl Iterator<Item = (&'a ObjectKey, &'a Value)> {
    inner.objects_of("v1", "Pod", None).filter(move |(_, p)| {
        p.pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
    })
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// A daemon Pod for `node` from the DaemonSet's template.
fn daemon_pod(ds: &Value, node: &str) -> Value {
    let name = ds["metadata"]["name"].as_str().unwrap_or("ds");
    let mut spec = ds
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or(json!({}));
    let host_network = spec["hostNetwork"] == true;
    let mut tolerations: Vec<Value> = spec["tolerations"].as_array().cloned().unwrap_or_default();
    for t in daemon_tolerations(host_network) {
        if !tolerations.contains(&t) {
            tolerations.push(t);
        }
    }
    spec["tolerations"] = json!(tolerations);
    spec["nodeName"] = json!(node);
    let mut labels = ds
        .pointer("/spec/template/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    labels["controller-revision-hash"] = json!("6b7d9c8f5");
    labels["pod-template-generation"] = json!("1");
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{name}-{}", random_suffix(5)),
            "namespace": ds["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name,
                "uid": ds["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": spec,
    })
}

/// Runs one Pod per eligible node for every DaemonSet, replaces Pods whose images no longer
/// match the template, and keeps the status counts.
pub(crate) fn sync_daemonsets(cluster: &FakeCluster, inner: &mut Inner) {
    let daemonsets: Vec<(ObjectKey, Value)> = inner
        .objects_of("apps/v1", "DaemonSet", None)
        .filter(|(_, ds)| !is_deleting(ds))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let nodes: Vec<Value> = inner
        .objects_of("v1", "Node", None)
        .map(|(_, n)| n.clone())
        .collect();
    for (key, ds) in daemonsets {
        if inner.namespace_terminating(&key.namespace) {
            continue;
        }
        let uid = ds["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let template = ds
            .pointer("/spec/template/spec")
            .cloned()
            .unwrap_or(json!({}));
        let wanted: Vec<String> = nodes
            .iter()
            .filter(|n| eligible(&template, n))
            .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        let owned: Vec<(ObjectKey, Value)> = owned_by(inner, &uid)
            .filter(|(_, p)| !is_deleting(p))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut covered = Vec::new();
        for (pod_key, pod) in &owned {
            let node = pod["spec"]["nodeName"].as_str().unwrap_or("").to_string();
            let stale = images(&pod["spec"]) != images(&template);
            if stale || !wanted.contains(&node) || covered.contains(&node) {
                cluster.delete_pod(inner, pod_key, None);
            } else {
                covered.push(node);
            }
        }
        for node in wanted.iter().filter(|n| !covered.contains(n)) {
            if let Ok(pod) = inner.normalize(daemon_pod(&ds, node)) {
                inner.put(pod);
            }
        }
        let current: Vec<Value> = owned_by(inner, &uid)
            .filter(|(_, p)| !is_deleting(p))
            .map(|(_, p)| p.clone())
            .collect();
        let ready = current.iter().filter(|p| is_ready(p)).count();
        let generation = ds
            .pointer("/metadata/generation")
            .cloned()
            .unwrap_or(json!(1));
        let status = json!({
            "desiredNumberScheduled": wanted.len(),
            "currentNumberScheduled": current.len(),
            "updatedNumberScheduled": current.len(),
            "numberReady": ready,
            "numberAvailable": ready,
            "numberUnavailable": wanted.len().saturating_sub(ready),
            "numberMisscheduled": 0,
            "observedGeneration": generation,
        });
        if ds.get("status") != Some(&status) {
            let mut ds = ds;
            ds["status"] = status;
            inner.put(ds);
        }
    }
}

/// Deletes Pods whose owning DaemonSet is gone (background propagation).
pub(crate) fn collect_garbage(cluster: &FakeCluster, inner: &mut Inner) {
    let owners: Vec<Value> = inner
        .objects_of("apps/v1", "DaemonSet", None)
        .map(|(_, ds)| ds["metadata"]["uid"].clone())
        .collect();
    let orphans: Vec<ObjectKey> = inner
        .objects_of("v1", "Pod", None)
        .filter(|(_, p)| !is_deleting(p))
        .filter(|(_, p)| {
            p.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r["kind"] == "DaemonSet" && !owners.contains(&r["uid"]))
                })
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in orphans {
        cluster.delete_pod(inner, &key, None);
    }
}

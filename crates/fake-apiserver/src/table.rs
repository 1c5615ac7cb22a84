//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which
//! kubectl asks for on `kubectl get`. Columns follow the real server's printers for the
//! common kinds; other kinds get NAME and AGE.

use serde_json::{Value, json};

use crate::util::{human_duration, now_unix, parse_rfc3339};

/// What to embed in each row's `object` (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    Metadata,
    Object,
}

fn col(name: &str, ty: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
}

fn columns(kind: &str) -> Vec<Value> {
    let s = |n: &str| col(n, "string", 0);
    let w = |n: &str| col(n, "string", 1);
    let i = |n: &str| col(n, "integer", 0);
    match kind {
        "Pod" => vec![
            s("Name"),
            s("Ready"),
            s("Status"),
            col("Restarts", "string", 0),
            s("Age"),
            w("IP"),
            w("Node"),
            w("Nominated Node"),
            w("Readiness Gates"),
        ],
        "Node" => vec![
            s("Name"),
            s("Status"),
            s("Roles"),
            s("Age"),
            s("Version"),
            w("Internal-IP"),
            w("External-IP"),
            w("OS-Image"),
            w("Kernel-Version"),
            w("Container-Runtime"),
        ],
        "DaemonSet" => vec![
            s("Name"),
            i("Desired"),
            i("Current"),
            i("Ready"),
            i("Up-to-date"),
            i("Available"),
            s("Node Selector"),
            s("Age"),
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        "Deployment" => vec![
            s("Name"),
            s("Ready"),
            i("Up-to-date"),
            i("Available"),
            s("Age"),
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        "Namespace" => vec![s("Name"), s("Status"), s("Age")],
        "Service" => vec![
            s("Name"),
            s("Type"),
            s("Cluster-IP"),
            s("External-IP"),
            s("Port(s)"),
            s("Age"),
            w("Selector"),
        ],
        "Event" => vec![
            s("Last Seen"),
            s("Type"),
            s("Reason"),
            s("Object"),
            s("Message"),
        ],
        "ConfigMap" => vec![s("Name"), i("Data"), s("Age")],
        _ => vec![s("Name"), s("Age")],
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int_at(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn age(object: &Value, pointer: &str) -> String {
    match parse_rfc3339(str_at(object, pointer)) {
        Some(t) => human_duration(now_unix() - t),
        None => "<unknown>".into(),
    }
}

fn array<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn map_string(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            let mut pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            pairs.join(",")
        })
        .unwrap_or_default()
}

fn containers_and_images(v: &Value, pointer: &str) -> (String, String) {
    let cs = array(v, pointer);
    let names: Vec<&str> = cs.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn selector_string(v: &Value) -> String {
    or_none(map_string(v, "/spec/selector/matchLabels"))
}

/// The STATUS column of `kubectl get pods`, after kubectl's `printPod`.
fn pod_status(pod: &Value) -> String {
    let mut reason = str_at(pod, "/status/phase").to_string();
    let r = str_at(pod, "/status/reason");
    if !r.is_empty() {
        reason = r.to_string();
    }
    let inits = array(pod, "/status/initContainerStatuses");
    let init_total = array(pod, "/spec/initContainers").len().max(inits.len());
    let mut initializing = false;
    for (i, c) in inits.iter().enumerate() {
        let term = c.pointer("/state/terminated");
        if let Some(t) = term
            && int_at(t, "/exitCode") == 0
        {
            continue;
        }
        initializing = true;
        let waiting = str_at(c, "/state/waiting/reason");
        reason = match term {
            Some(t) => {
                let tr = str_at(t, "/reason");
                if !tr.is_empty() {
                    format!("Init:{tr}")
                } else {
                    format!("Init:ExitCode:{}", int_at(t, "/exitCode"))
                }
            }
            None if !waiting.is_empty() && waiting != "PodInitializing" => {
                format!("Init:{waiting}")
            }
            None => format!("Init:{i}/{init_total}"),
        };
        break;
    }
    if !initializing {
        let mut has_running = false;
        for c in array(pod, "/status/containerStatuses").iter().rev() {
            let waiting = str_at(c, "/state/waiting/reason");
            let term = c.pointer("/state/terminated");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = term {
                let tr = str_at(t, "/reason");
                reason = if !tr.is_empty() {
                    tr.to_string()
                } else if int_at(t, "/signal") != 0 {
                    format!("Signal:{}", int_at(t, "/signal"))
                } else {
                    format!("ExitCode:{}", int_at(t, "/exitCode"))
                };
            } else if c.pointer("/state/running").is_some()
                && c.get("ready").and_then(Value::as_bool) == Some(true)
            {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            let ready = array(pod, "/status/conditions")
                .iter()
                .any(|c| str_at(c, "/type") == "Ready" && str_at(c, "/status") == "True");
            reason = if ready { "Running" } else { "NotReady" }.into();
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = if str_at(pod, "/status/reason") == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    reason
}

fn cells(kind: &str, o: &Value) -> Vec<Value> {
    let name = str_at(o, "/metadata/name");
    let created = age(o, "/metadata/creationTimestamp");
    match kind {
        "Pod" => {
            let statuses = array(o, "/status/containerStatuses");
            let total = array(o, "/spec/containers").len().max(statuses.len());
            let ready = statuses
                .iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                .count();
            let count: i64 = statuses.iter().map(|c| int_at(c, "/restartCount")).sum();
            // Like the real printer: "5 (2m ago)" when the last restart is known.
            let last_restart = statuses
                .iter()
                .filter_map(|c| parse_rfc3339(str_at(c, "/lastState/terminated/finishedAt")))
                .max();
            let restarts = match last_restart {
                Some(t) if count > 0 => {
                    format!("{count} ({} ago)", human_duration(now_unix() - t))
                }
                _ => count.to_string(),
            };
            let gates = array(o, "/spec/readinessGates").len();
            vec![
                json!(name),
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts),
                json!(created),
                json!(or_none(str_at(o, "/status/podIP").to_string())),
                json!(or_none(str_at(o, "/spec/nodeName").to_string())),
                json!(or_none(str_at(o, "/status/nominatedNodeName").to_string())),
                json!(if gates == 0 {
                    "<none>".to_string()
                } else {
                    format!("0/{gates}")
                }),
            ]
        }
        "Node" => {
            let conditions = array(o, "/status/conditions");
            let mut status = match conditions.iter().find(|c| str_at(c, "/type") == "Ready") {
                Some(c) if str_at(c, "/status") == "True" => "Ready".to_string(),
                Some(_) => "NotReady".to_string(),
                None => "Unknown".to_string(),
            };
            if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
                status.push_str(",SchedulingDisabled");
            }
            let mut roles: Vec<String> = o
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|labels| {
                    labels
                        .iter()
                        .filter_map(|(k, v)| {
                            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                                Some(role.to_string())
                            } else if k == "kubernetes.io/role" {
                                v.as_str().map(str::to_string)
                            } else {
                                None
                            }
                        })
                        .filter(|r| !r.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            roles.sort();
            let address = |ty: &str| {
                array(o, "/status/addresses")
                    .iter()
                    .find(|a| str_at(a, "/type") == ty)
                    .map(|a| str_at(a, "/address").to_string())
                    .unwrap_or_default()
            };
            vec![
                json!(name),
                json!(status),
                json!(or_none(roles.join(","))),
                json!(created),
                json!(str_at(o, "/status/nodeInfo/kubeletVersion")),
                json!(or_none(address("InternalIP"))),
                json!(or_none(address("ExternalIP"))),
                json!(str_at(o, "/status/nodeInfo/osImage")),
                json!(str_at(o, "/status/nodeInfo/kernelVersion")),
                json!(str_at(o, "/status/nodeInfo/containerRuntimeVersion")),
            ]
        }
        "DaemonSet" => {
            let (containers, images) = containers_and_images(o, "/spec/template/spec/containers");
            vec![
                json!(name),
                json!(int_at(o, "/status/desiredNumberScheduled")),
                json!(int_at(o, "/status/currentNumberScheduled")),
                json!(int_at(o, "/status/numberReady")),
                json!(int_at(o, "/status/updatedNumberScheduled")),
                json!(int_at(o, "/status/numberAvailable")),
                json!(or_none(map_string(o, "/spec/template/spec/nodeSelector"))),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector_string(o)),
            ]
        }
        "Deployment" => {
            let (containers, images) = containers_and_images(o, "/spec/template/spec/containers");
            let desired = o
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            vec![
                json!(name),
                json!(format!("{}/{desired}", int_at(o, "/status/readyReplicas"))),
                json!(int_at(o, "/status/updatedReplicas")),
                json!(int_at(o, "/status/availableReplicas")),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector_string(o)),
            ]
        }
        "Namespace" => vec![
            json!(name),
            json!(str_at(o, "/status/phase")),
            json!(created),
        ],
        "Service" => {
            let ty = match str_at(o, "/spec/type") {
                "" => "ClusterIP",
                t => t,
            };
            let ports: Vec<String> = array(o, "/spec/ports")
                .iter()
                .map(|p| {
                    let proto = match str_at(p, "/protocol") {
                        "" => "TCP",
                        x => x,
                    };
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(np) => format!("{}:{np}/{proto}", int_at(p, "/port")),
                        None => format!("{}/{proto}", int_at(p, "/port")),
                    }
                })
                .collect();
            let mut external: Vec<String> = array(o, "/status/loadBalancer/ingress")
                .iter()
                .map(|i| {
                    let ip = str_at(i, "/ip");
                    if ip.is_empty() {
                        str_at(i, "/hostname").to_string()
                    } else {
                        ip.to_string()
                    }
                })
                .collect();
            external.extend(
                array(o, "/spec/externalIPs")
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string)),
            );
            let external = if external.is_empty() && ty == "LoadBalancer" {
                "<pending>".to_string()
            } else {
                or_none(external.join(","))
            };
            vec![
                json!(name),
                json!(ty),
                json!(or_none(str_at(o, "/spec/clusterIP").to_string())),
                json!(external),
                json!(or_none(ports.join(","))),
                json!(created),
                json!(or_none(map_string(o, "/spec/selector"))),
            ]
        }
        "Event" => {
            let last = if o
                .pointer("/lastTimestamp")
                .and_then(Value::as_str)
                .is_some()
            {
                age(o, "/lastTimestamp")
            } else if o.pointer("/eventTime").and_then(Value::as_str).is_some() {
                age(o, "/eventTime")
            } else {
                created
            };
            let object = format!(
                "{}/{}",
                str_at(o, "/involvedObject/kind").to_ascii_lowercase(),
                str_at(o, "/involvedObject/name")
            );
            vec![
                json!(last),
                json!(str_at(o, "/type")),
                json!(str_at(o, "/reason")),
                json!(object),
                json!(str_at(o, "/message")),
            ]
        }
        "ConfigMap" => {
            let data = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            vec![json!(name), json!(data), json!(created)]
        }
        _ => vec![json!(name), json!(created)],
    }
}

fn row(kind: &str, object: &Value, include: IncludeObject) -> Value {
    let mut r = json!({"cells": cells(kind, object)});
    let embedded = match include {
        IncludeObject::None => None,
        IncludeObject::Metadata => Some(partial_metadata(object)),
        IncludeObject::Object => Some(object.clone()),
    };
    if let (Some(e), Some(m)) = (embedded, r.as_object_mut()) {
        m.insert("object".into(), e);
    }
    r
}

/// A `Table` of objects of one kind.
pub(crate) fn table(
    kind: &str,
    objects: &[Value],
    list_meta: Value,
    include: IncludeObject,
    with_columns: bool,
) -> Value {
    let rows: Vec<Value> = objects.iter().map(|o| row(kind, o, include)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": if with_columns { columns(kind) } else { Vec::new() },
        "rows": rows,
    })
}

/// `PartialObjectMetadata` of an object.
pub(crate) fn partial_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_status_column() {
        let crash = json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "c", "ready": false, "restartCount": 4,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(pod_status(&crash), "CrashLoopBackOff");
        let running = json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "c", "ready": true, "state": {"running": {}}}]}});
        assert_eq!(pod_status(&running), "Running");
        let init = json!({"spec": {"initContainers": [{"name": "i"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "i", "state": {"running": {}}}]}});
        assert_eq!(pod_status(&init), "Init:0/1");
        let cells = cells("Pod", &crash);
        assert_eq!(cells[1], json!("0/1"));
        assert_eq!(cells[3], json!("4"));
        let mut restarted = crash.clone();
        restarted["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": crate::util::format_rfc3339(now_unix() - 90)}});
        assert_eq!(super::cells("Pod", &restarted)[3], json!("4 (90s ago)"));
    }
}

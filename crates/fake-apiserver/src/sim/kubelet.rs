//! The kubelet (and, for Pods nobody bound, the scheduler's retries): binds pending Pods when
//! a node fits, sets up sandboxes only where the node's CNI works (else the runtime's event),
//! runs init containers then containers as their programs would (a port taken by another
//! container of the Pod makes the later one crash-loop), and writes the status a real kubelet
//! writes: phase, conditions, IPs, container states, restarts and logs.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::programs::{self, Behaviour, FileOp};
use super::{PodRuntime, Sim, network_problem};
use crate::lifecycle::{is_deleting, schedule};
use crate::store::{Inner, ObjectKey};
use crate::util::{format_rfc3339, now_rfc3339, now_unix};

/// Seconds between two restarts of a crash-looping container (the back-off, simplified).
const RESTART_EVERY: i64 = 10;

/// One round over every Pod.
pub(crate) fn sync_pods(inner: &mut Inner) {
    let Some(mut sim) = inner.sim.take() else {
        return;
    };
    let pods: Vec<(ObjectKey, Value)> = inner
        .objects_of("v1", "Pod", None)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let live: BTreeSet<String> = pods
        .iter()
        .filter_map(|(_, p)| p.pointer("/metadata/uid").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    sim.pods.retain(|uid, _| live.contains(uid));
    for (key, pod) in pods {
        if is_deleting(&pod) {
            // Its containers are stopping: nothing listens any more.
            if let Some(rt) = uid(&pod).and_then(|u| sim.pods.get_mut(&u)) {
                rt.listens.clear();
                rt.running.clear();
            }
            continue;
        }
        if let Some(updated) = sync_pod(inner, &mut sim, &key, &pod)
            && Some(&updated) != Some(&pod)
        {
            inner.put(updated);
        }
    }
    inner.sim = Some(sim);
}

fn uid(pod: &Value) -> Option<String> {
    pod.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn node_of(pod: &Value) -> Option<String> {
    pod.pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// An event about a Pod, recorded once per reason.
fn event(inner: &mut Inner, sim: &mut Sim, pod: &Value, reason: &str, message: &str) {
    let Some(uid) = uid(pod) else { return };
    if !sim.events.insert((uid.clone(), reason.to_string())) {
        return;
    }
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    if inner.namespace_terminating(namespace) {
        return;
    }
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let source = if reason == "FailedScheduling" {
        "default-scheduler"
    } else {
        "kubelet"
    };
    let object = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.{}", &uid[..uid.len().min(8)]) + "." + &reason.to_lowercase(), "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": namespace, "uid": uid},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "source": {"component": source},
        "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339(),
    });
    if let Ok(object) = inner.normalize(object) {
        inner.put(object);
    }
}

fn condition(kind: &str, ok: bool) -> Value {
    json!({"type": kind, "status": if ok { "True" } else { "False" }})
}

/// Why no node fits, in the scheduler's words (per node, the first reason).
fn unschedulable_message(inner: &Inner, pod: &Value) -> String {
    let nodes: Vec<&Value> = inner
        .objects_of("v1", "Node", None)
        .map(|(_, n)| n)
        .collect();
    let tolerations: Vec<Value> = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for node in &nodes {
        let taint = node
            .pointer("/spec/taints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
            .find(|t| {
                !tolerations
                    .iter()
                    .any(|tol| crate::lifecycle::tolerates(tol, t))
            });
        let reason = match taint {
            Some(t) => format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t["key"].as_str().unwrap_or(""),
                t["value"].as_str().unwrap_or("")
            ),
            None => "node(s) didn't match Pod's node affinity/selector".to_string(),
        };
        *reasons.entry(reason).or_default() += 1;
    }
    let n = nodes.len();
    let list = reasons
        .iter()
        .map(|(r, c)| format!("{c} {r}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "0/{n} nodes are available: {list}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
    )
}

fn sync_pod(inner: &mut Inner, sim: &mut Sim, key: &ObjectKey, pod: &Value) -> Option<Value> {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return None;
    }
    let Some(node) = node_of(pod) else {
        return Some(bind_or_wait(inner, sim, pod));
    };
    let node_object = inner
        .objects
        .get(&ObjectKey::new("v1", "Node", None, &node))?
        .clone();
    let files = sim.node_files.get(&node)?.clone();
    let pod_uid = uid(pod)?;
    let host_network = pod.pointer("/spec/hostNetwork") == Some(&json!(true));
    let node_ip = node_object
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("")
        .to_string();
    let has_ip = sim.pods.get(&pod_uid).is_some_and(|r| r.ip.is_some());
    if !host_network
        && !has_ip
        && let Some((reason, message)) = network_problem(&files)
    {
        event(inner, sim, pod, reason, &message);
        return Some(creating(pod, &node_ip));
    }
    let ip = if host_network {
        node_ip.clone()
    } else {
        match sim.pods.get(&pod_uid).and_then(|r| r.ip.clone()) {
            Some(ip) => ip,
            None => allocate_ip(sim, &node_object, &node)?,
        }
    };
    let rt = sim
        .pods
        .entry(pod_uid.clone())
        .or_insert_with(|| PodRuntime {
            node: node.clone(),
            host_network,
            ..PodRuntime::default()
        });
    rt.ip = Some(ip.clone());
    let configmaps: Vec<Value> = inner
        .objects_of("v1", "ConfigMap", Some(&key.namespace))
        .map(|(_, c)| c.clone())
        .collect();
    let cidr = node_object
        .pointer("/spec/podCIDR")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let run = Run {
        pod,
        configmaps: &configmaps,
        cidr: &cidr,
        now: now_unix(),
    };
    let mut rt = sim.pods.remove(&pod_uid)?;
    let (status, file_ops, logs) = run.containers(&mut rt, &node_ip, &ip);
    sim.pods.insert(pod_uid, rt);
    if let Some(node_files) = sim.node_files.get_mut(&node) {
        for op in file_ops {
            match op {
                FileOp::Write { path, content } => {
                    node_files.insert(path, content);
                }
                FileOp::Remove { path } => {
                    node_files.remove(&path);
                }
            }
        }
    }
    for (container, log) in logs {
        inner
            .logs
            .insert((key.namespace.clone(), key.name.clone(), container), log);
    }
    let mut updated = pod.clone();
    updated["status"] = status;
    Some(updated)
}

/// A Pod with no node: bound when one fits now, else Pending with the scheduler's reason.
fn bind_or_wait(inner: &mut Inner, sim: &mut Sim, pod: &Value) -> Value {
    let mut updated = pod.clone();
    if let Some(node) = schedule(inner, pod) {
        updated["spec"]["nodeName"] = json!(node);
        updated["status"] =
            json!({"phase": "Pending", "conditions": [condition("PodScheduled", true)]});
        return updated;
    }
    let message = unschedulable_message(inner, pod);
    event(inner, sim, pod, "FailedScheduling", &message);
    updated["status"] = json!({"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]});
    updated
}

/// A Pod whose sandbox cannot be created: Pending, containers waiting in ContainerCreating.
fn creating(pod: &Value, node_ip: &str) -> Value {
    let mut updated = pod.clone();
    let statuses: Vec<Value> = containers(pod, "containers")
        .iter()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false,
                        "restartCount": 0, "started": false,
                        "state": {"waiting": {"reason": "ContainerCreating"}}})
        })
        .collect();
    let start = pod
        .pointer("/status/startTime")
        .cloned()
        .unwrap_or_else(|| json!(now_rfc3339()));
    updated["status"] = json!({
        "phase": "Pending", "hostIP": node_ip, "startTime": start,
        "conditions": [condition("PodScheduled", true), condition("Initialized", true),
                       {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": "containers with unready status: [...]"}],
        "containerStatuses": statuses,
    });
    // Keep a status already written (only the first time differs).
    if pod.pointer("/status/phase") == Some(&json!("Pending"))
        && pod.pointer("/status/containerStatuses").is_some()
    {
        return pod.clone();
    }
    updated
}

fn containers(pod: &Value, list: &str) -> Vec<Value> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The next free address in the node's podCIDR (from .2; .1 is the bridge).
fn allocate_ip(sim: &Sim, node_object: &Value, node: &str) -> Option<String> {
    let cidr = node_object
        .pointer("/spec/podCIDR")
        .and_then(Value::as_str)?;
    let base = cidr.split('/').next()?.rsplit_once('.')?.0.to_string();
    let used: BTreeSet<&str> = sim
        .pods
        .values()
        .filter(|r| r.node == node && !r.host_network)
        .filter_map(|r| r.ip.as_deref())
        .collect();
    (2..255)
        .map(|i| format!("{base}.{i}"))
        .find(|ip| !used.contains(ip.as_str()))
}

/// The image as the runtime reports it (`nginx:1.25` -> `docker.io/library/nginx:1.25`).
fn runtime_image(image: &str) -> String {
    let registry = image.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    });
    let name = match (registry, image.matches('/').count()) {
        (true, _) => image.to_string(),
        (false, 0) => format!("docker.io/library/{image}"),
        (false, _) => format!("docker.io/{image}"),
    };
    if name
        .rsplit('/')
        .next()
        .is_some_and(|last| !last.contains(':') && !last.contains('@'))
    {
        format!("{name}:latest")
    } else {
        name
    }
}

/// Running one Pod's containers on its node.
struct Run<'a> {
    pod: &'a Value,
    configmaps: &'a [Value],
    cidr: &'a str,
    now: i64,
}

type Logs = Vec<(String, String)>;

impl Run<'_> {
    fn behaviour(&self, container: &Value) -> Behaviour {
        programs::behaviour(self.pod, container, self.configmaps, self.cidr)
    }

    /// Runs init containers once each, in order, then the containers; returns the status,
    /// the node file changes and the logs.
    fn containers(
        &self,
        rt: &mut PodRuntime,
        node_ip: &str,
        ip: &str,
    ) -> (Value, Vec<FileOp>, Logs) {
        let mut files = Vec::new();
        let mut logs = Vec::new();
        let mut init_statuses = Vec::new();
        let mut initialized = true;
        for c in containers(self.pod, "initContainers") {
            let name = c["name"].as_str().unwrap_or("").to_string();
            let image = c["image"].as_str().unwrap_or("").to_string();
            if !rt.initialized.contains(&name) && initialized {
                let b = self.behaviour(&c);
                files.extend(b.files.clone());
                if !b.log.is_empty() {
                    logs.push((name.clone(), b.log.clone()));
                }
                if b.exits == Some(0) {
                    rt.initialized.insert(name.clone());
                }
            }
            let done = rt.initialized.contains(&name);
            initialized &= done;
            init_statuses.push(json!({
                "name": name, "image": runtime_image(&image), "imageID": "", "ready": done,
                "restartCount": 0, "started": false,
                "state": if done {
                    json!({"terminated": {"exitCode": 0, "reason": "Completed"}})
                } else {
                    json!({"waiting": {"reason": "PodInitializing"}})
                },
            }));
        }
        let start_time = self
            .pod
            .pointer("/status/startTime")
            .cloned()
            .unwrap_or_else(|| json!(now_rfc3339()));
        let mut base = json!({
            "hostIP": node_ip, "hostIPs": [{"ip": node_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": start_time, "qosClass": "BestEffort",
        });
        if !init_statuses.is_empty() {
            base["initContainerStatuses"] = json!(init_statuses);
        }
        if !initialized {
            base["phase"] = json!("Pending");
            base["conditions"] = json!([
                condition("PodScheduled", true),
                condition("Initialized", false),
                condition("ContainersReady", false),
                condition("Ready", false)
            ]);
            return (base, files, logs);
        }
        let (statuses, all_ready, phase) = self.main_containers(rt, &mut files, &mut logs);
        base["phase"] = json!(phase);
        base["containerStatuses"] = json!(statuses);
        base["conditions"] = json!([
            condition("PodScheduled", true),
            condition("Initialized", true),
            condition("ContainersReady", all_ready),
            condition("Ready", all_ready)
        ]);
        (base, files, logs)
    }

    fn main_containers(
        &self,
        rt: &mut PodRuntime,
        files: &mut Vec<FileOp>,
        logs: &mut Logs,
    ) -> (Vec<Value>, bool, &'static str) {
        let restart = self
            .pod
            .pointer("/spec/restartPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Always")
            .to_string();
        let mut bound: Vec<u16> = Vec::new();
        let mut statuses = Vec::new();
        let (mut all_ready, mut any_running, mut any_failed) = (true, false, false);
        rt.listens.clear();
        rt.running.clear();
        for c in containers(self.pod, "containers") {
            let name = c["name"].as_str().unwrap_or("").to_string();
            let image = c["image"].as_str().unwrap_or("").to_string();
            let mut b = self.behaviour(&c);
            if let Some((port, _)) = b.listens.iter().find(|(p, _)| bound.contains(p)) {
                b = b.bind_failure(*port, &image);
            }
            bound.extend(b.listens.iter().map(|(p, _)| *p));
            let first_start = match rt.started.get(&name) {
                Some((started_image, at)) if *started_image == image => *at,
                _ => {
                    files.extend(b.files.clone());
                    rt.started.insert(name.clone(), (image.clone(), self.now));
                    self.now
                }
            };
            if !b.log.is_empty() {
                logs.push((name.clone(), b.log.clone()));
            }
            let mut status = json!({"name": name, "image": runtime_image(&image),
                "imageID": format!("{}@sha256:{:064x}", runtime_image(&image), image.len()),
                "containerID": format!("containerd://{:064x}", first_start)});
            match b.exits {
                None => {
                    rt.running.insert(name.clone());
                    rt.listens.extend(b.listens.iter().copied());
                    any_running = true;
                    status["ready"] = json!(true);
                    status["started"] = json!(true);
                    status["restartCount"] = json!(0);
                    status["state"] =
                        json!({"running": {"startedAt": format_rfc3339(first_start)}});
                }
                Some(code) if restart == "Always" || (restart == "OnFailure" && code != 0) => {
                    all_ready = false;
                    any_running = true;
                    let restarts = 1 + (self.now - first_start) / RESTART_EVERY;
                    let last = first_start + (restarts - 1) * RESTART_EVERY;
                    status["ready"] = json!(false);
                    status["started"] = json!(false);
                    status["restartCount"] = json!(restarts);
                    status["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                        "message": format!("back-off {}s restarting failed container={name} pod={}_{}",
                            (RESTART_EVERY * restarts).min(300),
                            self.pod["metadata"]["name"].as_str().unwrap_or(""),
                            self.pod["metadata"]["namespace"].as_str().unwrap_or(""))}});
                    status["lastState"] = json!({"terminated": {"exitCode": code,
                        "reason": if code == 0 { "Completed" } else { "Error" },
                        "startedAt": format_rfc3339(last), "finishedAt": format_rfc3339(last + 1)}});
                }
                Some(code) => {
                    any_failed |= code != 0;
                    status["ready"] = json!(false);
                    status["started"] = json!(false);
                    status["restartCount"] = json!(0);
                    status["state"] = json!({"terminated": {"exitCode": code,
                        "reason": if code == 0 { "Completed" } else { "Error" },
                        "startedAt": format_rfc3339(first_start), "finishedAt": format_rfc3339(first_start)}});
                }
            }
            statuses.push(status);
        }
        let phase = match (any_running, any_failed) {
            (true, _) => "Running",
            (false, true) => "Failed",
            (false, false) => "Succeeded",
        };
        (statuses, all_ready && any_running, phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_as_the_runtime_names_them() {
        assert_eq!(runtime_image("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(runtime_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            runtime_image("bitnami/redis:7"),
            "docker.io/bitnami/redis:7"
        );
        assert_eq!(
            runtime_image("ghcr.io/flannel-io/flannel:v0.28.9"),
            "ghcr.io/flannel-io/flannel:v0.28.9"
        );
    }
}

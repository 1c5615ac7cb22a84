//! The API server's own rules that tests must not be spared, taken from kubernetes/kubernetes:
//! graceful Pod deletion (`pkg/registry/core/pod/strategy.go` CheckGracefulDelete and the
//! generic registry's graceful delete), the NamespaceLifecycle admission plugin and the
//! namespace controller (a namespace is `Terminating` until its contents are gone), and Pod
//! update validation (`pkg/apis/core/validation` ValidatePodUpdate).

use std::time::Duration;

use serde_json::{Value, json};

use crate::FakeCluster;
use crate::store::{Inner, ObjectKey};
use crate::util::{format_rfc3339, now_unix};

/// The default of `spec.terminationGracePeriodSeconds`.
const DEFAULT_GRACE_SECONDS: i64 = 30;

/// The fields `ValidatePodUpdate` names in its refusal, verbatim.
pub(crate) const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// The grace period a Pod delete gets: none for a Pod never scheduled or already finished
/// (nothing runs that could stop gracefully), else the request's, else the Pod's own, else 30 s.
pub(crate) fn pod_grace_seconds(pod: &Value, requested: Option<i64>) -> i64 {
    let unscheduled = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    let finished = matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if unscheduled || finished {
        return 0;
    }
    requested
        .or_else(|| {
            pod.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(DEFAULT_GRACE_SECONDS)
        .max(0)
}

/// Whether an object is being deleted (it has a `deletionTimestamp`).
pub(crate) fn is_deleting(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

/// Why a Pod update is refused, if it is: any change to the spec but images, the active
/// deadline, added tolerations and the termination grace period.
pub(crate) fn pod_update_refusal(old: &Value, new: &Value) -> Option<String> {
    let (Some(old_spec), Some(new_spec)) = (old.get("spec"), new.get("spec")) else {
        return None;
    };
    if mutable_cleared(old_spec, new_spec) == mutable_cleared(new_spec, new_spec)
        && tolerations_only_added(old_spec, new_spec)
    {
        return None;
    }
    Some(format!("spec: Forbidden: {POD_UPDATE_FORBIDDEN}"))
}

/// The spec with the fields a Pod update may change taken from `like`, so two specs compare
/// equal when they differ only there.
fn mutable_cleared(spec: &Value, like: &Value) -> Value {
    let mut spec = spec.clone();
    for list in ["containers", "initContainers"] {
        let images: Vec<Value> = like
            .get(list)
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| c.get("image").cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for (i, container) in containers.iter_mut().enumerate() {
                if let Some(c) = container.as_object_mut() {
                    c.insert(
                        "image".into(),
                        images.get(i).cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
    }
    if let Some(s) = spec.as_object_mut() {
        for field in [
            "activeDeadlineSeconds",
            "tolerations",
            "terminationGracePeriodSeconds",
        ] {
            s.remove(field);
        }
    }
    spec
}

/// Tolerations may be added, never removed or changed.
fn tolerations_only_added(old: &Value, new: &Value) -> bool {
    let list = |spec: &Value| -> Vec<Value> {
        spec.get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let new = list(new);
    list(old).iter().all(|t| new.contains(t))
}

/// The NamespaceLifecycle refusal of a create in a namespace being deleted.
pub(crate) fn terminating_message(namespace: &str) -> String {
    format!("unable to create new content in namespace {namespace} because it is being terminated")
}

/// The node a scheduler would bind a new Pod to: one whose `NoSchedule`/`NoExecute` taints
/// the Pod tolerates, whose labels match its `nodeSelector`, and that holds no Pod its
/// required pod anti-affinity (per hostname) excludes; the least loaded first (the default
/// scheduler spreads). None when no node fits: the Pod stays unscheduled.
pub(crate) fn schedule(inner: &Inner, pod: &Value) -> Option<String> {
    let selector = pod
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let tolerations = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let load = |node: &str| {
        inner
            .objects
            .iter()
            .filter(|(k, p)| {
                k.kind == "Pod" && p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node)
            })
            .count()
    };
    inner
        .objects_of("v1", "Node", None)
        .map(|(k, node)| (k.name.clone(), node))
        .filter(|(_, node)| {
            let labels = node.pointer("/metadata/labels");
            selector
                .iter()
                .all(|(key, want)| labels.and_then(|l| l.get(key)) == Some(want))
        })
        .filter(|(name, _)| !repelled(inner, pod, name))
        .filter(|(_, node)| {
            node.pointer("/spec/taints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|t| {
                    matches!(
                        t.get("effect").and_then(Value::as_str),
                        Some("NoSchedule" | "NoExecute")
                    )
                })
                .all(|taint| tolerations.iter().any(|t| tolerates(t, taint)))
        })
        .min_by_key(|(name, _)| (load(name), name.clone()))
        .map(|(name, _)| name)
}

/// Whether the Pod's required anti-affinity (topology `kubernetes.io/hostname`, `matchLabels`)
/// keeps it off `node`: a Pod in its namespace there matches one of the terms.
fn repelled(inner: &Inner, pod: &Value, node: &str) -> bool {
    let namespace = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let terms = pod
        .pointer("/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    terms
        .iter()
        .filter(|t| t.get("topologyKey").and_then(Value::as_str) == Some("kubernetes.io/hostname"))
        .filter_map(|t| {
            t.pointer("/labelSelector/matchLabels")
                .and_then(Value::as_object)
        })
        .any(|wanted| {
            inner.objects.iter().any(|(k, other)| {
                k.kind == "Pod"
                    && k.namespace == namespace
                    && other.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node)
                    && wanted.iter().all(|(key, value)| {
                        other.pointer("/metadata/labels").and_then(|l| l.get(key)) == Some(value)
                    })
            })
        })
}

/// Whether a toleration tolerates a taint (`v1.Toleration.ToleratesTaint`).
pub(crate) fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let field = |v: &Value, f: &str| {
        v.get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let effect = field(toleration, "effect");
    if !effect.is_empty() && effect != field(taint, "effect") {
        return false;
    }
    let key = field(toleration, "key");
    if !key.is_empty() && key != field(taint, "key") {
        return false;
    }
    match field(toleration, "operator").as_str() {
        "Exists" => true,
        _ => !key.is_empty() && field(toleration, "value") == field(taint, "value"),
    }
}

impl Inner {
    /// Whether the namespace exists and is being deleted.
    pub(crate) fn namespace_terminating(&self, name: &str) -> bool {
        self.objects
            .get(&ObjectKey::new("v1", "Namespace", None, name))
            .is_some_and(is_deleting)
    }

    /// Marks an object as being deleted: `deletionTimestamp` at now + `grace`, and (for Pods)
    /// `deletionGracePeriodSeconds`. Watchers see MODIFIED. Returns the stored object.
    pub(crate) fn mark_deleting(&mut self, key: &ObjectKey, grace: i64) -> Option<Value> {
        let mut object = self.objects.get(key)?.clone();
        let meta = object.get_mut("metadata")?.as_object_mut()?;
        meta.insert(
            "deletionTimestamp".into(),
            json!(format_rfc3339(now_unix() + grace)),
        );
        if key.kind == "Pod" {
            meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
        }
        if key.kind == "Namespace" && key.api_version == "v1" {
            if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut) {
                status.insert("phase".into(), json!("Terminating"));
            } else if let Some(obj) = object.as_object_mut() {
                obj.insert("status".into(), json!({"phase": "Terminating"}));
            }
        }
        self.put(object)
    }

    /// Removes a namespace that is being deleted once nothing is left in it.
    pub(crate) fn finish_namespace(&mut self, name: &str) {
        if !self.namespace_terminating(name) {
            return;
        }
        if self.objects.keys().any(|k| k.namespace == name) {
            return;
        }
        self.remove(&ObjectKey::new("v1", "Namespace", None, name));
    }

    /// Removes a Pod whose grace period is over (if it is still the same Pod), then finishes
    /// its namespace if that is being deleted.
    pub(crate) fn finish_pod(&mut self, key: &ObjectKey, uid: &str) {
        let same = self.objects.get(key).is_some_and(|pod| {
            is_deleting(pod) && pod.pointer("/metadata/uid").and_then(Value::as_str) == Some(uid)
        });
        if same {
            self.remove(key);
        }
        self.finish_namespace(&key.namespace);
    }
}

impl FakeCluster {
    /// Deletes a Pod as the registry does: at once without a grace period, else marked with a
    /// `deletionTimestamp` and removed when the (shortened) grace period ends, as the kubelet
    /// would once its containers stopped. Returns the Pod as the DELETE answers it.
    pub(crate) fn delete_pod(
        &self,
        inner: &mut Inner,
        key: &ObjectKey,
        requested: Option<i64>,
    ) -> Option<Value> {
        let pod = inner.objects.get(key)?.clone();
        let grace = pod_grace_seconds(&pod, requested);
        if grace == 0 {
            let removed = inner.remove(key);
            inner.finish_namespace(&key.namespace);
            return removed;
        }
        if is_deleting(&pod) {
            // A second delete neither restarts nor, here, shortens the wait.
            return Some(pod);
        }
        let marked = inner.mark_deleting(key, grace)?;
        let uid = marked
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let wait = Duration::from_secs(u64::try_from(grace).unwrap_or(0)).min(inner.grace_cap);
        let cluster = self.clone();
        let key = key.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            cluster.lock().finish_pod(&key, &uid);
        });
        Some(marked)
    }

    /// Deletes a namespace as the namespace controller does: `Terminating` at once, its
    /// contents deleted (Pods gracefully), and the namespace itself gone once they are.
    pub(crate) fn delete_namespace(&self, inner: &mut Inner, name: &str) -> Option<Value> {
        let key = ObjectKey::new("v1", "Namespace", None, name);
        let namespace = inner.objects.get(&key)?.clone();
        let marked = if is_deleting(&namespace) {
            namespace
        } else {
            inner.mark_deleting(&key, 0)?
        };
        for k in inner.keys_in(name) {
            if k.kind == "Pod" && k.api_version == "v1" {
                self.delete_pod(inner, &k, None);
            } else {
                inner.remove(&k);
            }
        }
        inner.finish_namespace(name);
        Some(inner.objects.get(&key).cloned().unwrap_or(marked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn tolerations_match_taints_like_the_api() {
        let taint = json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"});
        assert!(tolerates(&json!({"operator": "Exists"}), &taint));
        assert!(tolerates(
            &json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}),
            &taint
        ));
        assert!(!tolerates(
            &json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}),
            &taint
        ));
        assert!(!tolerates(
            &json!({"key": "other", "operator": "Exists"}),
            &taint
        ));
    }

    #[test]
    fn grace_follows_the_registry() {
        let scheduled = pod(json!({"nodeName": "n1", "containers": []}));
        assert_eq!(pod_grace_seconds(&scheduled, None), 30);
        assert_eq!(pod_grace_seconds(&scheduled, Some(0)), 0);
        assert_eq!(pod_grace_seconds(&scheduled, Some(5)), 5);
        let own = pod(json!({"nodeName": "n1", "terminationGracePeriodSeconds": 3}));
        assert_eq!(pod_grace_seconds(&own, None), 3);
        let pending = pod(json!({"containers": []}));
        assert_eq!(pod_grace_seconds(&pending, None), 0, "never scheduled");
    }

    #[test]
    fn pod_updates_may_change_images_and_little_else() {
        let old = pod(json!({"containers": [{"name": "app", "image": "nginx:1.25",
            "ports": [{"containerPort": 80}]}], "tolerations": [{"key": "a"}]}));
        let mut image = old.clone();
        image["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        assert_eq!(pod_update_refusal(&old, &image), None);
        let mut tolerate = old.clone();
        tolerate["spec"]["tolerations"] = json!([{"key": "a"}, {"key": "b"}]);
        assert_eq!(pod_update_refusal(&old, &tolerate), None);
        let mut ports = old.clone();
        ports["spec"]["containers"][0]["ports"][0]["containerPort"] = json!(8080);
        assert!(pod_update_refusal(&old, &ports).is_some());
        let mut added = old.clone();
        added["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": "redis:7"}));
        assert!(pod_update_refusal(&old, &added).is_some());
        let mut removed = old.clone();
        removed["spec"]["tolerations"] = json!([]);
        assert!(pod_update_refusal(&old, &removed).is_some());
    }
}

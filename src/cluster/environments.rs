//! Learner environments on a management cluster (the workshop `kubernetes` provider): one
//! privileged Pod per learner running Docker and kind, in a namespace per workshop. The Pod
//! publishes the learner's kubeconfig in a Secret named after it; kubelab reads it back.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use super::{ClusterError, Connection};

/// The label every object kubelab makes here carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubelab");
/// The label naming the workshop an environment belongs to.
pub const WORKSHOP_LABEL: &str = "kubelab.dev/workshop";
/// The taint key (effect NoSchedule) environment Pods tolerate: taint a node pool with it so
/// only environments land there.
pub const TOLERATED_TAINT: &str = "kubelab.dev/environments";
/// The ServiceAccount environment Pods publish their kubeconfig with.
const PUBLISHER: &str = "kubelab-environment";
/// The Secret key holding the learner's kubeconfig.
pub const KUBECONFIG_KEY: &str = "kubeconfig";

/// What one environment Pod is made of.
#[derive(Debug, Clone)]
pub struct PodPlan {
    /// The Pod's name (also the kind cluster's name inside it).
    pub name: String,
    /// The workshop's namespace.
    pub namespace: String,
    /// The workshop's id, as a label.
    pub workshop: i64,
    /// The environment image.
    pub image: String,
    /// Nodes it may run on, by label.
    pub node_selector: BTreeMap<String, String>,
    /// CPU request (e.g. `2`).
    pub cpu: String,
    /// Memory request (e.g. `3Gi`).
    pub memory: String,
    /// Worker nodes of the kind cluster inside.
    pub workers: u32,
}

/// Where an environment Pod is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodProgress {
    /// Still coming up; what it is doing, in words.
    Starting(String),
    /// Ready: the learner's kubeconfig.
    Ready(String),
    /// It will not become ready; why.
    Failed(String),
    /// There is no such Pod.
    Missing,
}

/// The name of the Secret an environment publishes its kubeconfig in.
pub fn secret_name(pod: &str) -> String {
    format!("{pod}-kubeconfig")
}

fn labels(workshop: i64) -> serde_json::Value {
    json!({ MANAGED_BY.0: MANAGED_BY.1, WORKSHOP_LABEL: workshop.to_string() })
}

fn kube(conn: &Connection) -> impl Fn(kube::Error) -> ClusterError + '_ {
    move |e| ClusterError::from_kube(e, &conn.server)
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ClusterError> {
    serde_json::from_value(value).map_err(|e| ClusterError::Protocol(e.to_string()))
}

/// Creates `object` unless it exists (409 is fine: it is ours from an earlier run).
async fn create_once<K>(api: &Api<K>, object: &K, conn: &Connection) -> Result<(), ClusterError>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(kube(conn)(e)),
    }
}

/// Makes the workshop's namespace and the account its Pods publish kubeconfigs with: it may
/// only create and update Secrets in that namespace.
pub async fn prepare_namespace(
    conn: &Connection,
    namespace: &str,
    workshop: i64,
) -> Result<(), ClusterError> {
    let client = conn.client.clone();
    let ns: Namespace = decode(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": namespace, "labels": labels(workshop)},
    }))?;
    create_once(&Api::all(client.clone()), &ns, conn).await?;
    let account: ServiceAccount = decode(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": PUBLISHER, "namespace": namespace, "labels": labels(workshop)},
    }))?;
    create_once(&Api::namespaced(client.clone(), namespace), &account, conn).await?;
    let role: Role = decode(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": PUBLISHER, "namespace": namespace, "labels": labels(workshop)},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "get", "update", "patch"]}],
    }))?;
    create_once(&Api::namespaced(client.clone(), namespace), &role, conn).await?;
    let binding: RoleBinding = decode(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": PUBLISHER, "namespace": namespace, "labels": labels(workshop)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": PUBLISHER},
        "subjects": [{"kind": "ServiceAccount", "name": PUBLISHER, "namespace": namespace}],
    }))?;
    create_once(&Api::namespaced(client, namespace), &binding, conn).await
}

/// The environment Pod: privileged (Docker and kind need it), tolerating the environment
/// taint, with Docker's storage on an emptyDir and a readiness file the entrypoint writes.
pub fn pod_manifest(plan: &PodPlan) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": plan.name, "namespace": plan.namespace, "labels": labels(plan.workshop)},
        "spec": {
            "serviceAccountName": PUBLISHER,
            "restartPolicy": "Never",
            "nodeSelector": plan.node_selector,
            "tolerations": [{"key": TOLERATED_TAINT, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{
                "name": "environment",
                "image": plan.image,
                "securityContext": {"privileged": true},
                "env": [
                    {"name": "KUBELAB_ENV_NAME", "value": plan.name},
                    {"name": "KUBELAB_WORKERS", "value": plan.workers.to_string()},
                    {"name": "KUBELAB_SECRET", "value": secret_name(&plan.name)},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                ],
                "resources": {"requests": {"cpu": plan.cpu, "memory": plan.memory}},
                "readinessProbe": {
                    "exec": {"command": ["test", "-f", "/run/kubelab/ready"]},
                    "periodSeconds": 5,
                },
                "volumeMounts": [
                    {"name": "docker", "mountPath": "/var/lib/docker"},
                    {"name": "modules", "mountPath": "/lib/modules", "readOnly": true},
                ],
            }],
            "volumes": [
                {"name": "docker", "emptyDir": {}},
                {"name": "modules", "hostPath": {"path": "/lib/modules", "type": "Directory"}},
            ],
        },
    })
}

/// Creates the environment Pod (an existing one of that name is kept).
pub async fn create(conn: &Connection, plan: &PodPlan) -> Result<(), ClusterError> {
    let pod: Pod = decode(pod_manifest(plan))?;
    create_once(
        &Api::namespaced(conn.client.clone(), &plan.namespace),
        &pod,
        conn,
    )
    .await
}

/// Where the environment is: from the Pod's status and events-free facts (phase, conditions,
/// container states), and its published Secret once the Pod is Ready.
pub async fn progress(
    conn: &Connection,
    namespace: &str,
    name: &str,
) -> Result<PodProgress, ClusterError> {
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), namespace);
    let Some(pod) = pods.get_opt(name).await.map_err(kube(conn))? else {
        return Ok(PodProgress::Missing);
    };
    let status = pod.status.unwrap_or_default();
    let phase = status.phase.unwrap_or_default();
    if phase == "Failed" || phase == "Succeeded" {
        let reason = status
            .container_statuses
            .iter()
            .flatten()
            .find_map(|c| c.state.as_ref()?.terminated.as_ref())
            .map(|t| {
                format!(
                    "the environment exited ({}{})",
                    t.reason.as_deref().unwrap_or("exit"),
                    t.message
                        .as_deref()
                        .map(|m| format!(": {}", m.trim()))
                        .unwrap_or_default()
                )
            })
            .or(status.message)
            .unwrap_or_else(|| format!("the environment Pod is {phase}"));
        return Ok(PodProgress::Failed(reason));
    }
    for c in status.container_statuses.iter().flatten() {
        if let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = waiting.reason.as_deref().unwrap_or("");
            let message = waiting.message.as_deref().unwrap_or("").trim();
            if matches!(
                reason,
                "ErrImagePull"
                    | "ImagePullBackOff"
                    | "InvalidImageName"
                    | "CreateContainerConfigError"
                    | "CrashLoopBackOff"
            ) {
                return Ok(PodProgress::Failed(format!("{reason}: {message}")));
            }
            return Ok(PodProgress::Starting(format!(
                "container {}{}",
                if reason.is_empty() { "waiting" } else { reason },
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            )));
        }
        if let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            return Ok(PodProgress::Failed(format!(
                "the environment exited with code {}{}",
                t.exit_code,
                t.message
                    .as_deref()
                    .map(|m| format!(": {}", m.trim()))
                    .unwrap_or_default()
            )));
        }
    }
    let condition = |kind: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind)
            .cloned()
    };
    if let Some(scheduled) = condition("PodScheduled")
        && scheduled.status != "True"
    {
        return Ok(PodProgress::Starting(format!(
            "waiting for a node: {}",
            scheduled
                .message
                .unwrap_or_else(|| "not scheduled yet".into())
        )));
    }
    let on = pod
        .spec
        .and_then(|s| s.node_name)
        .map(|n| format!(" on {n}"))
        .unwrap_or_default();
    if phase == "Pending" {
        return Ok(PodProgress::Starting(format!(
            "pulling the environment image{on}"
        )));
    }
    if condition("Ready").is_none_or(|c| c.status != "True") {
        return Ok(PodProgress::Starting(format!(
            "booting Docker and the kind cluster{on}"
        )));
    }
    let secrets: Api<Secret> = Api::namespaced(conn.client.clone(), namespace);
    let published = secrets
        .get_opt(&secret_name(name))
        .await
        .map_err(kube(conn))?
        .and_then(|s| s.data)
        .and_then(|mut d| d.remove(KUBECONFIG_KEY))
        .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned());
    Ok(match published {
        Some(text) if !text.trim().is_empty() => PodProgress::Ready(text),
        _ => PodProgress::Starting(format!(
            "Ready{on}, waiting for its kubeconfig Secret {}",
            secret_name(name)
        )),
    })
}

/// Deletes the environment Pod and its Secret (already gone is fine).
pub async fn delete(conn: &Connection, namespace: &str, name: &str) -> Result<(), ClusterError> {
    let gone = |r: Result<(), kube::Error>| match r {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(kube(conn)(e)),
    };
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), namespace);
    gone(
        pods.delete(name, &DeleteParams::default())
            .await
            .map(|_| ()),
    )?;
    let secrets: Api<Secret> = Api::namespaced(conn.client.clone(), namespace);
    gone(
        secrets
            .delete(&secret_name(name), &DeleteParams::default())
            .await
            .map(|_| ()),
    )
}

/// The environment Pods kubelab made in a namespace, by name.
pub async fn list(conn: &Connection, namespace: &str) -> Result<Vec<String>, ClusterError> {
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), namespace);
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let listed = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(kube(conn))?;
    Ok(listed
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_is_privileged_tolerates_the_pool_and_publishes_its_kubeconfig() {
        let plan = PodPlan {
            name: "kl-abc-1".into(),
            namespace: "kubelab-ws-1".into(),
            workshop: 1,
            image: "example.test/env:1".into(),
            node_selector: BTreeMap::from([("pool".into(), "labs".into())]),
            cpu: "2".into(),
            memory: "3Gi".into(),
            workers: 1,
        };
        let pod = pod_manifest(&plan);
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["securityContext"]["privileged"], true);
        assert_eq!(pod["spec"]["tolerations"][0]["key"], TOLERATED_TAINT);
        assert_eq!(pod["spec"]["nodeSelector"]["pool"], "labs");
        assert!(
            c["env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "KUBELAB_SECRET" && e["value"] == "kl-abc-1-kubeconfig")
        );
        let _: Pod = decode(pod).unwrap();
    }
}

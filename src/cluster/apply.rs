//! Changing a cluster for a task's setup and reset: server-side apply of manifests (field
//! manager `kubelab`), deletes, and faults injected and undone through the API.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
    PostParams,
};
use kube::discovery::{Scope, pinned_kind};
use serde_json::json;

use super::status::{Cni, detect_cni};
use super::{ClusterError, Connection};
use crate::content::model::{ObjectKind, ObjectRef};

/// The field manager of everything kubelab applies.
pub const FIELD_MANAGER: &str = "kubelab";
/// How long a fault's node pod may take.
const FAULT_POD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a delete waits for the object to be gone: a Pod's default grace period is 30 s,
/// and a namespace lasts until everything in it is gone.
pub const DELETE_WAIT: Duration = Duration::from_secs(120);
/// How often a delete looks whether the object is gone yet.
const DELETE_POLL: Duration = Duration::from_millis(250);
/// The files that make a node's Flannel network work, removed by the remove-cni fault.
pub const FLANNEL_NODE_STATE: [&str; 2] = [
    "/run/flannel/subnet.env",
    "/etc/cni/net.d/10-flannel.conflist",
];

fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

async fn resource(
    conn: &Connection,
    api_version: &str,
    kind: &str,
) -> Result<(ApiResource, bool), ClusterError> {
    let (group, version) = split_api_version(api_version);
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = conn.call(pinned_kind(&conn.client, &gvk)).await?;
    Ok((resource, caps.scope == Scope::Namespaced))
}

fn dynamic_api(
    conn: &Connection,
    resource: &ApiResource,
    namespaced: bool,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match (namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(conn.client.clone(), ns, resource),
        (true, None) => Api::default_namespaced_with(conn.client.clone(), resource),
        (false, _) => Api::all_with(conn.client.clone(), resource),
    }
}

/// Server-side applies every document of a YAML stream; returns what was applied.
pub async fn apply_yaml(conn: &Connection, yaml: &str) -> Result<Vec<String>, ClusterError> {
    // Parse everything first: the YAML deserializer must not live across an await.
    let mut values = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(yaml) {
        let value = serde_yaml_ng::Value::deserialize(document)
            .map_err(|e| ClusterError::Protocol(format!("bad manifest: {e}")))?;
        let value = serde_json::to_value(value)
            .map_err(|e| ClusterError::Protocol(format!("bad manifest: {e}")))?;
        if !value.is_null() {
            values.push(value);
        }
    }
    let mut applied = Vec::new();
    for value in values {
        let object: DynamicObject = serde_json::from_value(value)
            .map_err(|e| ClusterError::Protocol(format!("bad manifest: {e}")))?;
        let types = object.types.clone().ok_or_else(|| {
            ClusterError::Protocol("a manifest document lacks apiVersion or kind".into())
        })?;
        let name = object.metadata.name.clone().ok_or_else(|| {
            ClusterError::Protocol(format!("a {} has no metadata.name", types.kind))
        })?;
        let (resource, namespaced) = resource(conn, &types.api_version, &types.kind).await?;
        let api = dynamic_api(
            conn,
            &resource,
            namespaced,
            object.metadata.namespace.as_deref(),
        );
        let params = PatchParams::apply(FIELD_MANAGER).force();
        conn.call(api.patch(&name, &params, &Patch::Apply(&object)))
            .await?;
        applied.push(match &object.metadata.namespace {
            Some(ns) => format!("{} {ns}/{name}", types.kind),
            None => format!("{} {name}", types.kind),
        });
    }
    Ok(applied)
}

use serde::Deserialize as _;

fn api_version_of(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Namespace
        | ObjectKind::Pod
        | ObjectKind::ConfigMap
        | ObjectKind::ServiceAccount => "v1",
        ObjectKind::DaemonSet => "apps/v1",
        ObjectKind::ClusterRole | ObjectKind::ClusterRoleBinding => "rbac.authorization.k8s.io/v1",
    }
}

/// What a delete found and did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Deleted {
    /// There was nothing to delete.
    Absent,
    /// It was deleted and is gone, after this long (a Pod's grace period, a namespace's
    /// contents).
    Gone(Duration),
}

/// Deletes one object and waits until it is really gone (bounded by [`DELETE_WAIT`]), as
/// `kubectl delete` does: a Pod stays `Terminating` for its grace period and a namespace
/// until its contents are gone, and anything created meanwhile under the same name would
/// land on the old object or be refused. An absent object is fine.
pub async fn delete(conn: &Connection, object: &ObjectRef) -> Result<Deleted, ClusterError> {
    let kind = format!("{:?}", object.kind);
    let (resource, namespaced) = resource(conn, api_version_of(object.kind), &kind).await?;
    let api = dynamic_api(conn, &resource, namespaced, object.namespace.as_deref());
    let uid = match conn
        .call(api.delete(&object.name, &DeleteParams::background()))
        .await
    {
        Ok(either) => either.left().and_then(|o| o.metadata.uid),
        Err(ClusterError::Api { code: 404, .. }) => return Ok(Deleted::Absent),
        Err(err) => return Err(err),
    };
    let started = tokio::time::Instant::now();
    loop {
        let current = conn.call(api.get_opt(&object.name)).await?;
        // Gone, or already replaced by a new object of the same name.
        if current.is_none_or(|o| uid.is_some() && o.metadata.uid != uid) {
            return Ok(Deleted::Gone(started.elapsed()));
        }
        if started.elapsed() > DELETE_WAIT {
            return Err(ClusterError::Protocol(format!(
                "{object} was deleted but is still there after {} s (Terminating): a finalizer or a stuck node may hold it; see `kubectl describe`",
                DELETE_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(DELETE_POLL).await;
    }
}

/// Removes Flannel: its DaemonSet, and on every node the state it leaves behind, so that
/// new pods really cannot get a network (CONTENT-FACTS: deleting the DaemonSet alone does not).
pub async fn remove_cni(conn: &Connection) -> Result<Vec<String>, ClusterError> {
    let mut done = Vec::new();
    let daemonsets: Api<DaemonSet> = Api::all(conn.client.clone());
    let all = conn
        .call(daemonsets.list(&ListParams::default()))
        .await?
        .items;
    if let Cni::Flannel { namespace } = detect_cni(&all) {
        for ds in all
            .iter()
            .filter(|d| d.metadata.namespace.as_deref() == Some(namespace.as_str()))
        {
            let name = ds.metadata.name.clone().unwrap_or_default();
            if name.contains("flannel") {
                let api: Api<DaemonSet> = Api::namespaced(conn.client.clone(), &namespace);
                let _ = conn
                    .call(api.delete(&name, &DeleteParams::background()))
                    .await?;
                done.push(format!("deleted DaemonSet {namespace}/{name}"));
            }
        }
    }
    let nodes: Api<Node> = Api::all(conn.client.clone());
    let nodes = conn.call(nodes.list(&ListParams::default())).await?.items;
    for node in nodes {
        let name = node.metadata.name.unwrap_or_default();
        clear_node_state(conn, &name).await?;
        done.push(format!(
            "removed {} on node {name}",
            FLANNEL_NODE_STATE.join(" and ")
        ));
    }
    Ok(done)
}

/// Runs a short-lived privileged pod on `node` that deletes Flannel's node files, waits for
/// it to finish, and always removes it.
async fn clear_node_state(conn: &Connection, node: &str) -> Result<(), ClusterError> {
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), "kube-system");
    let name = format!(
        "kubelab-fault-{}",
        node.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
    );
    let labels: BTreeMap<&str, &str> = [
        ("app.kubernetes.io/managed-by", "kubelab"),
        ("kubelab.dev/role", "fault"),
    ]
    .into();
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeName": node, "restartPolicy": "Never", "hostNetwork": true,
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": "remove", "image": super::exec::PROBE_IMAGE,
                "command": ["sh", "-c", format!("rm -f {}", FLANNEL_NODE_STATE.iter().map(|p| format!("/host{p}")).collect::<Vec<_>>().join(" "))],
                "securityContext": {"privileged": true},
                "volumeMounts": [
                    {"name": "run-flannel", "mountPath": "/host/run/flannel"},
                    {"name": "cni-conf", "mountPath": "/host/etc/cni/net.d"}
                ]
            }],
            "volumes": [
                {"name": "run-flannel", "hostPath": {"path": "/run/flannel", "type": "DirectoryOrCreate"}},
                {"name": "cni-conf", "hostPath": {"path": "/etc/cni/net.d", "type": "DirectoryOrCreate"}}
            ]
        }
    }))
    .map_err(|e| ClusterError::Protocol(e.to_string()))?;
    // A leftover from an interrupted run would block the create.
    let _ = conn
        .call(pods.delete(&name, &DeleteParams::default().grace_period(0)))
        .await;
    conn.call(pods.create(&PostParams::default(), &pod)).await?;
    let outcome = async {
        let started = tokio::time::Instant::now();
        loop {
            let phase = conn
                .call(pods.get(&name))
                .await?
                .status
                .and_then(|s| s.phase)
                .unwrap_or_default();
            match phase.as_str() {
                "Succeeded" => return Ok(()),
                "Failed" => {
                    return Err(ClusterError::Protocol(format!(
                        "the fault pod {name} on node {node} failed; its log may say why: kubectl -n kube-system logs {name}"
                    )));
                }
                _ if started.elapsed() > FAULT_POD_TIMEOUT => {
                    return Err(ClusterError::Protocol(format!(
                        "the fault pod {name} on node {node} did not finish within {} s (phase {phase})",
                        FAULT_POD_TIMEOUT.as_secs()
                    )));
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
    .await;
    if outcome.is_ok() {
        let _ = conn
            .call(pods.delete(&name, &DeleteParams::default().grace_period(0)))
            .await;
    }
    outcome
}

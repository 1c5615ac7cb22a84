//! The learner's toolbox: one Pod per learner in the `kubelab-system` namespace of their own
//! cluster, with the tools of the exam (bash, kubectl, curl, an editor, jq) and a kubeconfig
//! of every context they may use. The browser terminal is an interactive exec with a TTY into
//! it, inside a session multiplexer (tmux), so a reload reattaches to the same shell.
//!
//! It runs on the host network and tolerates every taint, so it works on a cluster whose pod
//! network is missing (no CNI) and whose nodes are NotReady.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Api, AttachParams, AttachedProcess, PostParams};
use serde_json::json;

use super::{ClusterError, Connection};

/// The namespace kubelab keeps toolboxes in; task setup and reset never touch it.
pub const NAMESPACE: &str = "kubelab-system";
/// The ServiceAccount toolboxes run as (cluster-admin: the learner owns the cluster).
const ACCOUNT: &str = "kubelab-toolbox";
/// The multiplexer session every terminal attaches to.
const SESSION: &str = "main";
/// How long a new toolbox may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// What one learner's toolbox is made of.
#[derive(Debug, Clone)]
pub struct ToolboxPlan {
    /// The Pod's name (one per learner).
    pub name: String,
    /// The toolbox image.
    pub image: String,
    /// The kubeconfig put into it: every context the learner may use.
    pub kubeconfig: String,
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ClusterError> {
    serde_json::from_value(value).map_err(|e| ClusterError::Protocol(e.to_string()))
}

fn labels() -> serde_json::Value {
    json!({"app.kubernetes.io/managed-by": "kubelab", "app.kubernetes.io/name": "kubelab-toolbox"})
}

/// Creates `object` unless it exists.
async fn create_once<K>(api: &Api<K>, object: &K, conn: &Connection) -> Result<(), ClusterError>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match conn.call(api.create(&PostParams::default(), object)).await {
        Ok(_) => Ok(()),
        Err(ClusterError::Api { code: 409, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The toolbox Pod: host network, every taint tolerated, the kubeconfig mounted, and a
/// long-running command the terminal execs into.
pub fn pod_manifest(plan: &ToolboxPlan) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": plan.name, "namespace": NAMESPACE, "labels": labels()},
        "spec": {
            "serviceAccountName": ACCOUNT,
            "hostNetwork": true,
            "dnsPolicy": "ClusterFirstWithHostNet",
            "tolerations": [{"operator": "Exists"}],
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "toolbox",
                "image": plan.image,
                "command": ["sleep", "infinity"],
                "env": [
                    {"name": "KUBECONFIG", "value": "/etc/kubelab/kubeconfig"},
                    {"name": "TERM", "value": "xterm-256color"},
                ],
                "volumeMounts": [
                    {"name": "kubeconfig", "mountPath": "/etc/kubelab", "readOnly": true},
                    {"name": "home", "mountPath": "/root"},
                ],
            }],
            "volumes": [
                {"name": "kubeconfig", "secret": {"secretName": format!("{}-kubeconfig", plan.name)}},
                {"name": "home", "emptyDir": {}},
            ],
        },
    })
}

/// Makes sure the learner's toolbox exists and runs, reporting each step to `progress`.
pub async fn ensure(
    conn: &Connection,
    plan: &ToolboxPlan,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ClusterError> {
    let client = conn.client.clone();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    if let Some(pod) = conn.call(pods.get_opt(&plan.name)).await?
        && pod.metadata.deletion_timestamp.is_none()
        && running(&pod)
    {
        return Ok(());
    }
    progress("preparing the kubelab-system namespace");
    let ns: Namespace = decode(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": labels()},
    }))?;
    create_once(&Api::all(client.clone()), &ns, conn).await?;
    let account: ServiceAccount = decode(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": ACCOUNT, "namespace": NAMESPACE, "labels": labels()},
    }))?;
    create_once(&Api::namespaced(client.clone(), NAMESPACE), &account, conn).await?;
    let binding: ClusterRoleBinding = decode(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": ACCOUNT, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}],
    }))?;
    create_once(&Api::all(client.clone()), &binding, conn).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let secret_name = format!("{}-kubeconfig", plan.name);
    let secret: Secret = decode(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": NAMESPACE, "labels": labels()},
        "stringData": {"kubeconfig": plan.kubeconfig},
    }))?;
    match conn
        .call(secrets.create(&PostParams::default(), &secret))
        .await
    {
        Ok(_) | Err(ClusterError::Api { code: 409, .. }) => {}
        Err(e) => return Err(e),
    }
    progress("creating your toolbox Pod");
    let pod: Pod = decode(pod_manifest(plan))?;
    create_once(&pods, &pod, conn).await?;
    let since = tokio::time::Instant::now();
    let mut last = String::new();
    loop {
        let pod = conn.call(pods.get_opt(&plan.name)).await?;
        let step = match &pod {
            None => "waiting for the toolbox Pod".to_string(),
            Some(p) if running(p) => return Ok(()),
            Some(p) => describe(p)?,
        };
        if step != last {
            progress(&step);
            last = step;
        }
        if since.elapsed() >= START_TIMEOUT {
            return Err(ClusterError::Protocol(format!(
                "the toolbox did not start within {} s ({last})",
                START_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn running(pod: &Pod) -> bool {
    pod.status.as_ref().is_some_and(|s| {
        s.phase.as_deref() == Some("Running")
            && s.container_statuses
                .iter()
                .flatten()
                .all(|c| c.state.as_ref().is_some_and(|st| st.running.is_some()))
    })
}

/// What a starting toolbox is doing, or why it will not start.
fn describe(pod: &Pod) -> Result<String, ClusterError> {
    let status = pod.status.clone().unwrap_or_default();
    for c in status.container_statuses.iter().flatten() {
        if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.clone().unwrap_or_default();
            if matches!(
                reason.as_str(),
                "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "CrashLoopBackOff"
            ) {
                return Err(ClusterError::Protocol(format!(
                    "the toolbox cannot start: {reason}: {}",
                    w.message.clone().unwrap_or_default()
                )));
            }
            return Ok(format!("starting the toolbox ({reason})"));
        }
    }
    Ok(match pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
        Some(node) => format!("pulling the toolbox image on {node}"),
        None => "waiting for a node for the toolbox".to_string(),
    })
}

/// An interactive shell in the toolbox with a TTY: attached to the learner's multiplexer
/// session (created on first use), or read-only for someone watching.
pub async fn shell(
    conn: &Connection,
    name: &str,
    read_only: bool,
) -> Result<AttachedProcess, ClusterError> {
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), NAMESPACE);
    let command: Vec<&str> = if read_only {
        vec!["tmux", "attach-session", "-r", "-t", SESSION]
    } else {
        vec!["tmux", "new-session", "-A", "-s", SESSION]
    };
    let params = AttachParams::interactive_tty().container("toolbox");
    conn.call(pods.exec(name, command, &params)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toolbox_runs_without_a_pod_network() {
        let pod = pod_manifest(&ToolboxPlan {
            name: "toolbox-abc".into(),
            image: "example.test/toolbox:1".into(),
            kubeconfig: "apiVersion: v1".into(),
        });
        assert_eq!(pod["spec"]["hostNetwork"], true);
        assert_eq!(pod["spec"]["tolerations"][0]["operator"], "Exists");
        assert_eq!(pod["metadata"]["namespace"], NAMESPACE);
        let _: Pod = decode(pod).unwrap();
    }
}

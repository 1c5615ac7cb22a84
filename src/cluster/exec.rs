//! Runs a command in a container (or in a short-lived probe pod) and collects its output
//! and exit code from the exec status channel.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::{AttachParams, DeleteParams, PostParams};
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::{ClusterError, Connection};
use crate::checks::observed::{ExecOutput, ExecRequest, ExecTarget};

/// Longest a command may run.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(10);
/// Image of the probe pod: has wget, nc and ping.
pub const PROBE_IMAGE: &str = "busybox:1.36";
/// How long a probe pod may take to start (well inside the whole check's budget).
const PROBE_START: Duration = Duration::from_secs(8);

/// Deletes the probe pod when dropped, even if the check was cancelled half-way (timeout).
struct ProbeGuard {
    api: Api<Pod>,
    name: String,
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        let api = self.api.clone();
        let name = std::mem::take(&mut self.name);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let params = DeleteParams::default().grace_period(0);
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), api.delete(&name, &params)).await;
            });
        }
    }
}

/// Runs the request; errors mean the command could not be run (not that it failed).
pub async fn run(conn: &Connection, request: &ExecRequest) -> Result<ExecOutput, ClusterError> {
    match &request.target {
        ExecTarget::Pod {
            namespace,
            pod,
            container,
        } => exec_in(conn, namespace, pod, container.as_deref(), &request.command).await,
        ExecTarget::ProbePod { namespace } => {
            with_probe_pod(conn, namespace, &request.command).await
        }
    }
}

async fn exec_in(
    conn: &Connection,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    command: &[String],
) -> Result<ExecOutput, ClusterError> {
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), namespace);
    let mut params = AttachParams::default()
        .stdin(false)
        .stdout(true)
        .stderr(true);
    if let Some(container) = container {
        params = params.container(container);
    }
    let work = async {
        let mut process = api
            .exec(pod, command.to_vec(), &params)
            .await
            .map_err(|e| ClusterError::from_kube(e, &conn.server))?;
        let mut stdout = process.stdout();
        let mut stderr = process.stderr();
        let status = process.take_status();
        let read = |stream: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| async move {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let mut bytes = Vec::new();
                let _ = stream.read_to_end(&mut bytes).await;
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        };
        let (out, err) = futures_util::future::join(read(stdout.take()), read(stderr.take())).await;
        let status = match status {
            Some(status) => status.await,
            None => None,
        };
        let _ = process.join().await;
        let Some(status) = status else {
            return Err(ClusterError::Protocol(
                "the exec stream closed before the command reported its exit status".to_string(),
            ));
        };
        Ok(ExecOutput {
            stdout: out,
            stderr: err,
            exit_code: exit_code(&status)?,
        })
    };
    match tokio::time::timeout(EXEC_TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => Err(ClusterError::Timeout(EXEC_TIMEOUT.as_secs())),
    }
}

/// The exit code carried by an exec status: 0 on Success, the ExitCode cause on NonZeroExitCode.
fn exit_code(status: &Status) -> Result<i32, ClusterError> {
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|causes| {
                causes
                    .iter()
                    .find(|c| c.reason.as_deref() == Some("ExitCode"))
            })
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.parse::<i32>().ok());
        if let Some(code) = code {
            return Ok(code);
        }
    }
    let why = status
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| status.reason.clone())
        .unwrap_or_else(|| "no reason given".to_string());
    Err(ClusterError::Protocol(format!(
        "the command could not run: {why}"
    )))
}

/// Creates a busybox pod, runs the command in it, and always deletes it.
async fn with_probe_pod(
    conn: &Connection,
    namespace: &str,
    command: &[String],
) -> Result<ExecOutput, ClusterError> {
    let mut suffix = [0u8; 4];
    let _ = getrandom::fill(&mut suffix);
    let name = format!(
        "kubelab-probe-{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), namespace);
    let labels: BTreeMap<&str, &str> = [
        ("app.kubernetes.io/managed-by", "kubelab"),
        ("kubelab.dev/role", "probe"),
    ]
    .into();
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": 120,
            "containers": [{"name": "probe", "image": PROBE_IMAGE, "command": ["sleep", "120"]}]
        }
    }))
    .map_err(|e| ClusterError::Protocol(e.to_string()))?;
    conn.call(api.create(&PostParams::default(), &pod)).await?;
    let _cleanup = ProbeGuard {
        api: api.clone(),
        name: name.clone(),
    };
    let result = async {
        let started = tokio::time::Instant::now();
        loop {
            let current = conn.call(api.get(&name)).await?;
            let phase = current.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            if phase == "Running" {
                break;
            }
            if started.elapsed() > PROBE_START || phase == "Failed" {
                return Err(ClusterError::Protocol(format!(
                    "the probe pod {name} ({PROBE_IMAGE}) did not start within {} s (phase {phase})",
                    PROBE_START.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        exec_in(conn, namespace, &name, Some("probe"), command).await
    }
    .await;
    // Always remove the probe, whatever happened; a failure here must not hide the result.
    let _ = conn
        .call(api.delete(&name, &DeleteParams::default().grace_period(0)))
        .await;
    result
}

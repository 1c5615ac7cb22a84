//! Setting up, resetting and solving a task on a cluster: runs the task's declared steps in
//! order and reports each, touching nothing the task does not declare. All are idempotent.

use serde::Serialize;

use crate::cluster::status::Cni;
use crate::cluster::{ClusterError, Connection, PodNetwork, apply, pod_network};
use crate::content::CniRequirement;
use crate::content::model::{Fault, ObjectKind, ObjectRef, Step};
use crate::content::{Catalogue, Task};
use crate::store::LearnerId;

use super::{Service, ServiceResult};

/// A local copy of the Flannel manifest, for offline machines (and tests).
pub const FLANNEL_MANIFEST_ENV: &str = "KUBELAB_FLANNEL_MANIFEST";

/// Where setup steps get what is not in the content.
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// A local Flannel manifest used instead of downloading the pinned one.
    pub flannel_manifest: Option<std::path::PathBuf>,
}

impl SetupOptions {
    /// Options from the environment (`KUBELAB_FLANNEL_MANIFEST`).
    pub fn from_env() -> SetupOptions {
        SetupOptions {
            flannel_manifest: std::env::var_os(FLANNEL_MANIFEST_ENV).map(Into::into),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StepReport {
    /// The step, in words.
    pub step: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it changed, or why it failed.
    pub detail: String,
}

/// Which of a task's step lists to run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Make the task's starting state.
    Setup,
    /// Remove what setup and the learner created, and undo faults.
    Reset,
    /// Apply the reference solution (the real-cluster suite proves the checks with it).
    Solve,
}

impl Action {
    /// The action's name, as the API and the CLI print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Setup => "setup",
            Action::Reset => "reset",
            Action::Solve => "solve",
        }
    }

    /// The task's steps for this action. Setup first deletes (and waits for) everything the
    /// task owns, so it starts from the task's starting state whatever an earlier attempt or
    /// another task left behind.
    pub fn steps(self, task: &Task) -> Vec<Step> {
        match self {
            Action::Setup => clear_owned(task)
                .chain(task.setup.iter().cloned())
                .collect(),
            Action::Reset => task.cleanup.clone(),
            Action::Solve => task.solve.clone(),
        }
    }
}

/// Deletes of the objects a task owns: namespaced objects first, then cluster-scoped ones,
/// namespaces last (deleting a namespace waits for everything in it).
fn clear_owned(task: &Task) -> impl Iterator<Item = Step> + '_ {
    let rank = |o: &ObjectRef| match (o.kind, &o.namespace) {
        (ObjectKind::Namespace, _) => 2,
        (_, Some(_)) => 0,
        (_, None) => 1,
    };
    let mut owned: Vec<&ObjectRef> = task.owns.iter().collect();
    owned.sort_by_key(|o| rank(o));
    owned.into_iter().map(|o| Step::Delete(o.clone()))
}

/// The outcome of a setup, reset or solve.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Outcome {
    /// Task id.
    pub task: String,
    /// What ran.
    pub action: Action,
    /// Every step succeeded.
    pub ok: bool,
    /// Per step, in order; the run stops at the first failure.
    pub steps: Vec<StepReport>,
}

/// A step in words.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Apply(file) => format!("apply {file}"),
        Step::Manifest(yaml) => match crate::content::manifest::objects(yaml) {
            Ok(objects) => format!(
                "apply {}",
                objects
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(_) => "apply an inline manifest".to_string(),
        },
        Step::Delete(object) => format!("delete {object}"),
        Step::Fault(Fault::RemoveCni) => {
            "break the pod network: remove Flannel and its node files".to_string()
        }
        Step::UndoFault(Fault::RemoveCni) => {
            "repair the pod network: re-install the pinned Flannel".to_string()
        }
    }
}

/// Whether a step deletes or breaks something (the UI asks first).
pub fn destructive(step: &Step) -> bool {
    !matches!(step, Step::Apply(_))
}

async fn flannel_manifest(
    options: &SetupOptions,
    catalogue: &Catalogue,
    task: &Task,
) -> Result<String, ClusterError> {
    if let Some(path) = &options.flannel_manifest {
        return std::fs::read_to_string(path)
            .map_err(|e| ClusterError::Protocol(format!("cannot read {}: {e}", path.display())));
    }
    let pin = catalogue
        .lesson(&task.lesson)
        .and_then(|l| l.cluster.as_ref())
        .map(|c| c.flannel.manifest.clone())
        .ok_or_else(|| ClusterError::Protocol("the lesson pins no Flannel manifest".to_string()))?;
    crate::cluster::download::fetch_text(&pin).await
}

async fn run_step(
    conn: &Connection,
    options: &SetupOptions,
    catalogue: &Catalogue,
    task: &Task,
    step: &Step,
) -> Result<String, ClusterError> {
    match step {
        Step::Apply(file) => {
            let bytes = catalogue
                .lesson(&task.lesson)
                .and_then(|l| l.files.get(file))
                .ok_or_else(|| ClusterError::Protocol(format!("the lesson has no file {file}")))?;
            let text = std::str::from_utf8(bytes)
                .map_err(|_| ClusterError::Protocol(format!("{file} is not text")))?;
            Ok(apply::apply_yaml(conn, text).await?.join(", "))
        }
        Step::Manifest(yaml) => Ok(apply::apply_yaml(conn, yaml).await?.join(", ")),
        Step::Delete(object) => Ok(match apply::delete(conn, object).await? {
            apply::Deleted::Gone(after) => {
                format!("deleted {object}; gone after {:.1} s", after.as_secs_f64())
            }
            apply::Deleted::Absent => format!("{object} was already absent"),
        }),
        Step::Fault(Fault::RemoveCni) => {
            let done = apply::remove_cni(conn).await?;
            Ok(if done.is_empty() {
                "nothing to remove".to_string()
            } else {
                done.join("; ")
            })
        }
        Step::UndoFault(Fault::RemoveCni) => {
            let manifest = flannel_manifest(options, catalogue, task).await?;
            Ok(format!(
                "applied {}",
                apply::apply_yaml(conn, &manifest).await?.join(", ")
            ))
        }
    }
}

impl Outcome {
    /// A run that could not start because the cluster cannot be used.
    pub fn unreachable(task: &Task, action: Action, err: &ClusterError) -> Outcome {
        Outcome {
            task: task.id.clone(),
            action,
            ok: false,
            steps: vec![StepReport {
                step: "connect".into(),
                ok: false,
                detail: err.to_string(),
            }],
        }
    }

    /// Every step in one line, as stored with timed attempts and exam tasks.
    pub fn summary(&self) -> String {
        if self.steps.is_empty() {
            let what = match self.action {
                Action::Setup => "set up",
                Action::Reset => "reset",
                Action::Solve => "solve",
            };
            return format!("nothing to {what}");
        }
        self.steps
            .iter()
            .map(|s| format!("{}: {}", s.step, s.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Runs the task's steps for `action` in order, stopping at the first failure.
pub async fn run(
    conn: &Connection,
    options: &SetupOptions,
    catalogue: &Catalogue,
    task: &Task,
    action: Action,
) -> Outcome {
    let mut reports = Vec::new();
    if action == Action::Setup {
        let report = can_host(conn, task).await;
        let ok = report.ok;
        reports.push(report);
        if !ok {
            return Outcome {
                task: task.id.clone(),
                action,
                ok,
                steps: reports,
            };
        }
    }
    let (ok, steps) = run_list(conn, options, catalogue, task, &action.steps(task)).await;
    reports.extend(steps);
    Outcome {
        task: task.id.clone(),
        action,
        ok,
        steps: reports,
    }
}

/// Runs steps in order, stopping at the first failure; whether all succeeded, and each report.
pub async fn run_list(
    conn: &Connection,
    options: &SetupOptions,
    catalogue: &Catalogue,
    task: &Task,
    steps: &[Step],
) -> (bool, Vec<StepReport>) {
    let mut reports = Vec::new();
    for step in steps {
        let result = run_step(conn, options, catalogue, task, step).await;
        let failed = result.is_err();
        reports.push(StepReport {
            step: describe(step),
            ok: !failed,
            detail: result.unwrap_or_else(|e| e.to_string()),
        });
        if failed {
            return (false, reports);
        }
    }
    (true, reports)
}

/// The first step of every setup: whether the cluster can host the task, said either way.
async fn can_host(conn: &Connection, task: &Task) -> StepReport {
    let step = format!(
        "check the cluster: the task needs {}",
        task.requires.cni.describe()
    );
    let (ok, detail) = match pod_network(conn).await {
        Err(err) => (false, err.to_string()),
        Ok(network) => match refusal(task.requires.cni, &network) {
            Some(problem) => (false, problem),
            None => (true, describe_network(&network)),
        },
    };
    StepReport { step, ok, detail }
}

fn describe_network(network: &PodNetwork) -> String {
    match &network.cni {
        Cni::Flannel { namespace } => format!("Flannel runs (namespace {namespace})"),
        Cni::Other { daemonset } => format!("the CNI {daemonset} runs"),
        Cni::None if network.not_ready.is_empty() => "no CNI DaemonSet found".to_string(),
        Cni::None => "no CNI yet: the nodes' network is not ready".to_string(),
    }
}

/// Why a cluster cannot host a task that requires `cni`, and how to get one that can: what
/// setup can establish (removing Flannel, breaking it) it does; what it cannot, it refuses.
pub fn refusal(cni: CniRequirement, network: &PodNetwork) -> Option<String> {
    match (cni, &network.cni) {
        (CniRequirement::None, Cni::Other { daemonset }) => Some(format!(
            "this task starts from a cluster without a CNI, and this cluster runs {daemonset}, which kubelab does not remove (only Flannel): create the lesson cluster with `kubelab cluster create` and use it"
        )),
        (CniRequirement::Flannel, Cni::Other { daemonset }) => Some(format!(
            "this task breaks and repairs Flannel, and this cluster runs another CNI ({daemonset}): use the lesson cluster (`kubelab cluster create`, then the Install Flannel task)"
        )),
        (CniRequirement::Working, Cni::None) if !network.not_ready.is_empty() => Some(format!(
            "this task needs a working pod network, and this cluster has none ({}): do the Install Flannel task first (or apply the pinned Flannel manifest), then set this task up again",
            network.not_ready.join("; ")
        )),
        _ => None,
    }
}

impl Service {
    /// Sets up or resets a task on the learner's cluster; refused while an exam holds it.
    pub async fn run_steps(
        &self,
        learner: &LearnerId,
        task: &str,
        action: Action,
    ) -> ServiceResult<Outcome> {
        let task = self.open_task(learner, task).await?;
        let me = self.learner(learner).await?;
        Ok(self
            .run_on(self.connection(learner, &me).await, task, action)
            .await)
    }

    /// Runs a task's steps on a connection, or reports why it could not connect.
    pub(super) async fn run_on(
        &self,
        connection: Result<Connection, ClusterError>,
        task: &Task,
        action: Action,
    ) -> Outcome {
        match connection {
            Ok(conn) => run(&conn, &self.0.steps, &self.0.catalogue, task, action).await,
            Err(err) => Outcome::unreachable(task, action, &err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(cni: Cni, not_ready: &[&str]) -> PodNetwork {
        PodNetwork {
            cni,
            not_ready: not_ready.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn setup_refuses_what_it_cannot_establish() {
        let calico = Cni::Other {
            daemonset: "kube-system/calico-node".into(),
        };
        let flannel = Cni::Flannel {
            namespace: "kube-flannel".into(),
        };
        let bare = network(
            Cni::None,
            &["kubelab-worker: KubeletNotReady: cni plugin not initialized"],
        );
        assert!(refusal(CniRequirement::None, &network(calico.clone(), &[])).is_some());
        assert_eq!(
            refusal(CniRequirement::None, &network(flannel.clone(), &[])),
            None,
            "the fault removes Flannel"
        );
        assert_eq!(refusal(CniRequirement::None, &bare), None);
        assert!(refusal(CniRequirement::Flannel, &network(calico.clone(), &[])).is_some());
        assert_eq!(
            refusal(CniRequirement::Flannel, &bare),
            None,
            "the fault leaves the same state"
        );
        let no_network = refusal(CniRequirement::Working, &bare).unwrap();
        assert!(no_network.contains("Install Flannel"), "{no_network}");
        assert!(
            no_network.contains("cni plugin not initialized"),
            "{no_network}"
        );
        assert_eq!(
            refusal(CniRequirement::Working, &network(calico, &[])),
            None
        );
        assert_eq!(
            refusal(CniRequirement::Working, &network(flannel, &[])),
            None
        );
    }
}

//! The shapes of content files as authors write them. Every struct rejects unknown fields.

use serde::Deserialize;

use crate::checks::Criterion;

/// `catalogue.yaml`: the exam's domains and the topics under each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    /// The exam the catalogue prepares for, e.g. `CKA`.
    pub exam: String,
    /// Which curriculum version the weights come from.
    pub curriculum: String,
    /// Exam domains in display order.
    pub domains: Vec<DomainFile>,
}

/// One exam domain with its weight in percent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainFile {
    /// Stable id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Share of the exam in percent.
    pub weight: u32,
    /// Topics of the domain, in curriculum order.
    pub topics: Vec<TopicFile>,
}

/// A curriculum topic; `lesson` is absent while the topic has no content.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicFile {
    /// Stable id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// The lesson teaching this topic, if written.
    pub lesson: Option<String>,
}

/// `lessons/<id>/lesson.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonFile {
    /// Must equal the folder name.
    pub id: String,
    /// Display title.
    pub title: String,
    /// One paragraph shown in the catalogue and at the top of the lesson.
    pub summary: String,
    /// The versions the lesson was written and tried against.
    pub written_for: String,
    /// Sections in reading order.
    pub sections: Vec<SectionFile>,
    /// Task ids in the order the lesson presents them.
    pub tasks: Vec<String>,
    /// The cluster the lesson's tasks run on, with pinned versions.
    pub cluster: Option<ClusterSpec>,
    /// The lesson's debugging checklist, walked in order on the learner's cluster.
    #[serde(default)]
    pub diagnose: Vec<DiagnoseStep>,
}

/// One step of a lesson's debugging checklist.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseStep {
    /// Stable id.
    pub id: String,
    /// What the step makes sure of, as a sentence.
    pub title: String,
    /// What it looks at.
    pub kind: DiagnoseKind,
    /// The lesson section that explains it.
    pub section: String,
    /// What to do when it does not hold (Markdown-free, one paragraph).
    pub fix: String,
}

/// What a diagnosis step looks at.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnoseKind {
    /// Every node Ready (with the NotReady message).
    NodesReady,
    /// A CNI DaemonSet in any namespace with a Ready Pod on every node.
    CniDaemonset,
    /// CNI configuration in `/etc/cni/net.d` on every node, and the plugin binaries it names
    /// in `/opt/cni/bin`.
    CniNodeFiles,
    /// A podCIDR on every node.
    NodePodCidrs,
    /// Every Pod IP inside its node's podCIDR.
    PodIpsInRange,
    /// kube-proxy Running on every node.
    KubeProxy,
    /// CoreDNS Pods Ready.
    Coredns,
    /// Probe Pods reach each other on the same node and across nodes.
    PodNetwork,
    /// A Pod resolves `kubernetes.default.svc.cluster.local` through the cluster DNS.
    Dns,
    /// Recent Warning events, summarised.
    WarningEvents,
}

/// The lesson cluster: kind config and the pinned CNI pieces it needs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// A kind config from the lesson's `files/`.
    pub kind_config: String,
    /// The Flannel release the lesson installs.
    pub flannel: FlannelPin,
    /// The containernetworking plugins copied into kind nodes (kind lacks `bridge`).
    pub cni_plugins: PluginsPin,
}

/// A pinned Flannel release.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FlannelPin {
    /// Release tag, e.g. `v0.28.9`.
    pub version: String,
    /// The release's kube-flannel.yml URL.
    pub manifest: String,
}

/// A pinned containernetworking/plugins release with its checksums.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PluginsPin {
    /// Release tag, e.g. `v1.9.1`.
    pub version: String,
    /// Download URL with `{arch}` where the architecture goes.
    pub url: String,
    /// SHA-256 of the tarball per architecture (`amd64`, `arm64`).
    pub sha256: std::collections::BTreeMap<String, String>,
}

/// A section entry of `lesson.yaml`; the body lives in `sections/<id>.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionFile {
    /// Stable id, used in anchors and stored progress.
    pub id: String,
    /// Display title.
    pub title: String,
}

/// `tasks/<id>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    /// Must equal the file name.
    pub id: String,
    /// Display title.
    pub title: String,
    /// The lesson the task belongs to.
    pub lesson: String,
    /// Time budget in minutes.
    pub minutes: u32,
    /// Whether the task builds something or repairs something.
    pub style: TaskStyle,
    /// Markdown statement.
    pub statement: String,
    /// Files from the lesson's `files/` shown with the task.
    #[serde(default)]
    pub files: Vec<String>,
    /// Progressive hints, Markdown each.
    #[serde(default)]
    pub hints: Vec<String>,
    /// Markdown solution, hidden until asked for.
    pub solution: String,
    /// The cluster state the task starts from.
    pub requires: Requirements,
    /// What the task alters beyond the objects it owns.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// Objects that setup, the learner or cleanup create or delete.
    #[serde(default)]
    pub owns: Vec<ObjectRef>,
    /// Steps that make the starting state.
    #[serde(default)]
    pub setup: Vec<Step>,
    /// Steps that undo the task.
    #[serde(default)]
    pub cleanup: Vec<Step>,
    /// The reference solution as steps, run by the real-cluster suite to prove the checks.
    #[serde(default)]
    pub solve: Vec<Step>,
    /// Wrong answers `kubelab selftest` proves lose points.
    #[serde(default)]
    pub wrong: Vec<WrongAnswer>,
    /// Alternative right answers `kubelab selftest` proves keep full marks.
    #[serde(default)]
    pub right: Vec<RightAnswer>,
    /// Scored criteria.
    pub checks: Vec<Criterion>,
}

/// A wrong answer: steps that produce it on a freshly set-up task, and the criteria it must
/// at least fail.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WrongAnswer {
    /// What the learner got wrong, in a few words.
    pub name: String,
    /// Steps run after setup.
    pub steps: Vec<Step>,
    /// Ids of the criteria that must not pass.
    pub fails: Vec<String>,
}

/// A right answer other than the reference solution: it must score full marks.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RightAnswer {
    /// How it differs from the reference solution, in a few words.
    pub name: String,
    /// Steps run after setup.
    pub steps: Vec<Step>,
}

/// Whether a task builds or troubleshoots.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TaskStyle {
    /// Build something.
    Task,
    /// Repair something broken.
    Troubleshooting,
}

impl TaskStyle {
    /// Label shown to learners.
    pub fn label(self) -> &'static str {
        match self {
            TaskStyle::Task => "Task-based",
            TaskStyle::Troubleshooting => "Troubleshooting",
        }
    }
}

/// The cluster state a task needs before it starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Which CNI state the cluster must be in.
    pub cni: CniRequirement,
}

/// CNI state a task requires.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CniRequirement {
    /// Any working pod network.
    Working,
    /// No CNI installed (a kind cluster with disableDefaultCNI).
    None,
    /// Flannel specifically, because the task breaks or repairs it.
    Flannel,
}

impl CniRequirement {
    /// Learner-facing description.
    pub fn describe(self) -> &'static str {
        match self {
            CniRequirement::Working => "a cluster with a working pod network",
            CniRequirement::None => "a cluster created without a CNI (the lesson's kind config)",
            CniRequirement::Flannel => "a cluster whose pod network is Flannel",
        }
    }
}

/// Cluster-wide things a task alters.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Installs, removes or breaks the CNI.
    Cni,
}

/// A Kubernetes object named by kind, namespace and name.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    /// Object kind.
    pub kind: ObjectKind,
    /// Namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{:?} {ns}/{}", self.kind, self.name),
            None => write!(f, "{:?} {}", self.kind, self.name),
        }
    }
}

/// Object kinds tasks may own or delete.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// core/v1 Namespace.
    Namespace,
    /// core/v1 Pod.
    Pod,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 ServiceAccount.
    ServiceAccount,
    /// rbac ClusterRole.
    ClusterRole,
    /// rbac ClusterRoleBinding.
    ClusterRoleBinding,
}

impl ObjectKind {
    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            ObjectKind::Namespace | ObjectKind::ClusterRole | ObjectKind::ClusterRoleBinding
        )
    }
}

/// One setup or cleanup step, written as a one-key map such as `- apply: pod1.yaml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(try_from = "StepFile")]
pub enum Step {
    /// Server-side apply of a file from the lesson's `files/`.
    Apply(String),
    /// Delete one object (absent is fine).
    Delete(ObjectRef),
    /// Inject a named fault.
    Fault(Fault),
    /// Undo a named fault.
    UndoFault(Fault),
    /// Server-side apply of a manifest written inline (wrong and right answers).
    Manifest(String),
}

/// The written form of a [`Step`]: exactly one of its keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepFile {
    apply: Option<String>,
    delete: Option<ObjectRef>,
    fault: Option<Fault>,
    undo_fault: Option<Fault>,
    manifest: Option<String>,
}

impl TryFrom<StepFile> for Step {
    type Error = String;

    fn try_from(file: StepFile) -> Result<Step, String> {
        let mut steps = Vec::new();
        steps.extend(file.apply.map(Step::Apply));
        steps.extend(file.delete.map(Step::Delete));
        steps.extend(file.fault.map(Step::Fault));
        steps.extend(file.undo_fault.map(Step::UndoFault));
        steps.extend(file.manifest.map(Step::Manifest));
        match (steps.pop(), steps.is_empty()) {
            (Some(step), true) => Ok(step),
            _ => Err(
                "a step takes exactly one of `apply`, `manifest`, `delete`, `fault` or `undo-fault`"
                    .to_string(),
            ),
        }
    }
}

/// Faults a task can inject through the API.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Remove the CNI DaemonSet and its node-side state.
    RemoveCni,
}

/// `exams/<id>.yaml`: a timed set of tasks, each on a named cluster context.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamFile {
    /// Must equal the file name.
    pub id: String,
    /// Display title.
    pub title: String,
    /// One paragraph for the start page and the catalogue.
    pub summary: String,
    /// The lesson whose page links to the exam, if any.
    pub lesson: Option<String>,
    /// Total time in minutes.
    pub minutes: u32,
    /// Percent of the points needed to pass.
    #[serde(default = "default_pass_mark")]
    pub pass_mark: u32,
    /// The cluster contexts the tasks run on.
    pub contexts: Vec<ExamContextFile>,
    /// Tasks in exam order.
    pub tasks: Vec<ExamTaskFile>,
}

/// The CKA's pass mark.
fn default_pass_mark() -> u32 {
    66
}

/// A cluster context an exam uses, named as in the kubeconfig (e.g. `kind-kubelab`).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExamContextFile {
    /// The kubeconfig context name used by default.
    pub name: String,
    /// What cluster this must be and how to create it, Markdown-free.
    pub description: String,
}

/// One exam task and the context it runs on.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExamTaskFile {
    /// Task id.
    pub task: String,
    /// One of the exam's `contexts` names.
    pub context: String,
}

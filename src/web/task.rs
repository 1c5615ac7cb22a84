//! `/tasks/{task}`: statement, files, progressive hints, a hidden solution, and what is checked.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::checks::{Criterion, Verdict};
use crate::clock::{Precision, mm_ss, utc};
use crate::cluster::ClusterStatus;
use crate::cluster::status::Cni;
use crate::content::{CniRequirement, Lesson, Task, TaskStyle};
use crate::service::{PracticeBoard, SharedTask};
use crate::store::CheckRun;
use crate::web::error::AppResult;
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

/// The task page.
#[derive(Template)]
#[template(path = "task.html")]
pub struct TaskPage<'a> {
    chrome: Chrome,
    task: &'a Task,
    lesson: &'a Lesson,
    style: &'static str,
    requires: &'static str,
    criteria: &'a [Criterion],
    max_points: u32,
    best: Option<i64>,
    runs: i64,
    previous: Option<&'a Task>,
    next: Option<&'a Task>,
    /// Other tasks of the lesson that claim the same objects or the CNI.
    shares: Vec<SharedTask<'a>>,
    /// The learner's latest check of this task.
    last: Option<VerdictView>,
    /// Why the learner's cluster cannot host this task, if it cannot.
    suitability: Option<String>,
    /// Timed practice: the running attempt and the history.
    practice: PracticeView,
    /// The server's clock, for the countdown script.
    now: i64,
    /// The learner's unfinished exam that includes this task: checks, hints and solution wait.
    in_exam: Option<i64>,
    /// Hints the learner's workshop instructor opened for everyone (shown open).
    hints_open: usize,
}

/// The running timed attempt.
pub struct OpenPractice {
    /// Deadline, seconds since the epoch (for the countdown script).
    pub deadline_at: i64,
    /// Time left, mm:ss.
    pub remaining: String,
    /// Past the budget.
    pub overtime: bool,
    /// Whether the setup at start succeeded.
    pub setup_ok: bool,
    /// What the setup did.
    pub setup_detail: String,
}

/// A finished timed attempt.
pub struct PracticeRow {
    /// When it started.
    pub started: String,
    /// Time used, mm:ss.
    pub used: String,
    /// Finished over the budget.
    pub over_budget: bool,
    /// `score/max`, or `-`.
    pub score: String,
}

/// The timed-practice box of a task page.
pub struct PracticeView {
    /// The running attempt.
    pub open: Option<OpenPractice>,
    /// Finished attempts, newest first.
    pub history: Vec<PracticeRow>,
    /// Best score over the attempts.
    pub best: Option<i64>,
}

impl PracticeView {
    /// Builds the box from the learner's attempts.
    pub fn of(board: &PracticeBoard) -> PracticeView {
        let now = board.now;
        let open = board.open().map(|a| {
            let timer = a.timer();
            OpenPractice {
                deadline_at: a.deadline_at,
                remaining: mm_ss(timer.remaining(now)),
                overtime: timer.overtime(now),
                setup_ok: a.setup_ok,
                setup_detail: a.setup_detail.clone(),
            }
        });
        let history = board
            .history
            .iter()
            .filter_map(|a| {
                let finished = a.finished_at?;
                let timer = a.timer();
                Some(PracticeRow {
                    started: utc(a.started_at, Precision::Minute),
                    used: mm_ss(timer.used(finished)),
                    over_budget: timer.overtime(finished),
                    score: match (a.score, a.max_score) {
                        (Some(s), Some(m)) => format!("{s}/{m}"),
                        _ => "-".to_string(),
                    },
                })
            })
            .collect();
        PracticeView {
            open,
            history,
            best: board.best_score(),
        }
    }
}

/// Whether a cluster (as last seen) can host a task that requires `cni`.
pub fn suitability(cni: CniRequirement, status: Option<&ClusterStatus>) -> Option<String> {
    let status = status.filter(|s| s.reachable)?;
    let found = status.cni.as_ref()?;
    match (cni, found) {
        (CniRequirement::None, Cni::Other { daemonset }) => Some(format!(
            "Your cluster already runs a CNI ({daemonset}), and this task starts from a cluster without one: create the lesson cluster with `kubelab cluster create` (or kind and the lesson's kind-config.yaml) and switch to it on the cluster page."
        )),
        (CniRequirement::None, Cni::Flannel { namespace }) => Some(format!(
            "Flannel already runs on your cluster (namespace {namespace}), and this task starts without a CNI: reset the task first, which removes Flannel and its node files."
        )),
        (CniRequirement::Flannel, Cni::Other { daemonset }) => Some(format!(
            "This task breaks and repairs Flannel, but your cluster runs another CNI ({daemonset}): use the lesson cluster (`kubelab cluster create`), then install Flannel."
        )),
        (CniRequirement::Flannel, Cni::None) => Some(
            "This task needs Flannel running first: do the Install Flannel task, then set this one up.".to_string(),
        ),
        _ => None,
    }
}

/// A verdict as the page shows it.
pub struct VerdictView {
    /// The verdict.
    pub verdict: Verdict,
    /// When it was given.
    pub at: String,
    /// Whether the content changed since (the run was judged against another version).
    pub stale: bool,
}

impl VerdictView {
    /// Builds the view of a stored run.
    pub fn of(run: CheckRun, digest: &str) -> VerdictView {
        VerdictView {
            stale: run.content_digest != digest,
            at: utc(run.ran_at, Precision::Second),
            verdict: run.verdict,
        }
    }
}

/// `GET /tasks/{task}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    let overview = state.service.task_overview(&learner, &id).await?;
    let chrome = Chrome::of(&state, &overview.me);
    let task = overview.task;
    let digest = &state.service.catalogue().digest;
    let hints_open =
        usize::try_from(state.service.hints_open(&learner, &task.id).await?).unwrap_or(0);
    Ok(Page(TaskPage {
        suitability: suitability(task.requires.cni, chrome.cluster.as_ref()),
        chrome,
        task,
        lesson: overview.lesson,
        style: TaskStyle::label(task.style),
        requires: task.requires.cni.describe(),
        criteria: &task.checks,
        max_points: task.max_points(),
        best: overview.progress.as_ref().and_then(|t| t.best_score),
        runs: overview.progress.as_ref().map_or(0, |t| t.runs),
        previous: overview.neighbours.0,
        next: overview.neighbours.1,
        practice: PracticeView::of(&overview.practice),
        now: overview.practice.now,
        in_exam: overview.in_exam,
        hints_open,
        shares: overview.shares,
        last: overview.last.map(|run| VerdictView::of(run, digest)),
    })
    .into_response())
}

impl SizedPage for TaskPage<'_> {}

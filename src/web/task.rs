//! `/tasks/{task}`: statement, files, progressive hints, a hidden solution, and what is checked.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::checks::{Criterion, Verdict};
use crate::cluster::ClusterStatus;
use crate::cluster::status::Cni;
use crate::content::{CniRequirement, Lesson, Task, TaskStyle, conflicts};
use crate::error::{AppError, AppResult};
use crate::progress::lesson_progress;
use crate::state::AppState;
use crate::store::{CheckRun, PracticeAttempt};
use crate::timer::clock;
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};

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
    /// Other tasks of the lesson that claim the same objects or the CNI: (task, what).
    shares: Vec<(&'a Task, String)>,
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
}

/// The timed-practice box of a task page.
pub struct PracticeView {
    /// The running attempt: (deadline, remaining as mm:ss, over time?, setup ok?, setup detail).
    pub open: Option<(i64, String, bool, bool, String)>,
    /// Finished attempts: (started, time used mm:ss, over budget?, score).
    pub history: Vec<(String, String, bool, String)>,
    /// Best score over the attempts.
    pub best: Option<i64>,
}

impl PracticeView {
    /// Builds the box from stored attempts at `now`.
    pub fn of(attempts: &[PracticeAttempt], now: i64) -> PracticeView {
        let open = attempts.iter().find(|a| a.finished_at.is_none()).map(|a| {
            let timer = a.timer();
            (
                a.deadline_at,
                clock(timer.remaining(now)),
                timer.overtime(now),
                a.setup_ok,
                a.setup_detail.clone(),
            )
        });
        let history = attempts
            .iter()
            .filter_map(|a| {
                let finished = a.finished_at?;
                let timer = a.timer();
                let started = k8s_openapi::jiff::Timestamp::from_second(a.started_at)
                    .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                let score = match (a.score, a.max_score) {
                    (Some(s), Some(m)) => format!("{s}/{m}"),
                    _ => "-".to_string(),
                };
                Some((
                    started,
                    clock(timer.used(finished)),
                    timer.overtime(finished),
                    score,
                ))
            })
            .collect();
        PracticeView {
            open,
            history,
            best: attempts.iter().filter_map(|a| a.score).max(),
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

/// A stored verdict as the page shows it.
pub struct VerdictView {
    /// The verdict.
    pub verdict: Verdict,
    /// When, as "12:03:04 UTC".
    pub at: String,
    /// Whether the content changed since (the run was judged against another version).
    pub stale: bool,
}

impl VerdictView {
    /// Builds the view of a stored run.
    pub fn of(run: CheckRun, digest: &str) -> VerdictView {
        let at = k8s_openapi::jiff::Timestamp::from_second(run.ran_at)
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        VerdictView {
            stale: run.content_digest != digest,
            verdict: run.verdict,
            at,
        }
    }
}

/// `GET /tasks/{task}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    let catalogue = &state.catalogue;
    let task = catalogue
        .task(&id)
        .ok_or_else(|| AppError::NotFound(format!("There is no task `{id}`.")))?;
    let lesson = catalogue
        .lesson(&task.lesson)
        .ok_or_else(|| AppError::Internal(format!("task `{id}` has no lesson")))?;
    let me = state.store.snapshot(&learner).await?;
    let chrome = Chrome::of(&state, &me);
    let (done, scores) = (&me.sections_done, &me.best_scores);
    let progress = lesson_progress(catalogue, lesson, done, scores);
    let mine = progress.task(&task.id);
    let position = lesson.tasks.iter().position(|t| *t == task.id);
    let neighbour = |offset: isize| {
        position
            .and_then(|p| p.checked_add_signed(offset))
            .and_then(|p| lesson.tasks.get(p))
            .and_then(|t| catalogue.task(t))
    };
    let shares = catalogue
        .lesson_tasks(lesson)
        .filter(|other| other.id != task.id)
        .filter_map(|other| {
            let what: Vec<String> = conflicts(&[task, other])
                .into_iter()
                .map(|c| c.what)
                .collect();
            (!what.is_empty()).then(|| (other, what.join(", ")))
        })
        .collect();
    let in_exam = state.store.exam_holding_task(&learner, &task.id).await?;
    let last = state
        .store
        .latest_check(&learner, &task.id)
        .await?
        .map(|run| VerdictView::of(run, &catalogue.digest));
    let suitable = suitability(task.requires.cni, chrome.cluster.as_ref());
    let now = crate::timer::now();
    let attempts = state.store.practice_history(&learner, &task.id).await?;
    let practice = PracticeView::of(&attempts, now);
    Ok(Page(TaskPage {
        chrome,
        task,
        lesson,
        style: TaskStyle::label(task.style),
        requires: task.requires.cni.describe(),
        criteria: &task.checks,
        max_points: task.max_points(),
        best: mine.and_then(|t| t.best_score),
        runs: mine.map_or(0, |t| t.runs),
        previous: neighbour(-1),
        next: neighbour(1),
        suitability: suitable,
        practice,
        now,
        in_exam,
        shares,
        last,
    })
    .into_response())
}

impl SizedPage for TaskPage<'_> {}

//! `/tasks/{task}`: statement, files, progressive hints, a hidden solution, and what is checked.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::checks::{Criterion, Verdict};
use crate::content::{Lesson, Task, TaskStyle, conflicts};
use crate::error::{AppError, AppResult};
use crate::progress::lesson_progress;
use crate::state::AppState;
use crate::store::CheckRun;
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
        .flat_map(|other| {
            conflicts(&[task, other])
                .into_iter()
                .map(move |c| (other, c.what))
        })
        .collect();
    let last = state
        .store
        .latest_check(&learner, &task.id)
        .await?
        .map(|run| VerdictView::of(run, &catalogue.digest));
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
        shares,
        last,
    })
    .into_response())
}

impl SizedPage for TaskPage<'_> {}

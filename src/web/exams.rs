//! Practice exam pages: the start page with rules and history, the exam view while it runs,
//! and the printable report. The server owns time and scores; pages only show them.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::content::{Exam, Lesson};
use crate::error::{AppError, AppResult};
use crate::exam::{self, ExamScore, Phase, Status, TaskRecord, TaskSnapshot, TaskTrend};
use crate::proctor::{self, Ending};
use crate::state::AppState;
use crate::store::{ExamAttempt, ExamTask, LearnerId};
use crate::timer::{clock, now};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::task::VerdictView;

/// Finds an exam or answers 404.
pub fn find_exam<'a>(state: &'a AppState, id: &str) -> AppResult<&'a Exam> {
    state
        .catalogue
        .exam(id)
        .ok_or_else(|| AppError::NotFound(format!("There is no exam `{id}`.")))
}

/// The learner's attempt with this id; anyone else's, or a malformed id, is 404.
pub async fn own_attempt(
    state: &AppState,
    learner: &LearnerId,
    id: &str,
) -> AppResult<ExamAttempt> {
    let missing = || AppError::NotFound(format!("There is no exam attempt `{id}`."));
    let id: i64 = id.parse().map_err(|_| missing())?;
    state
        .store
        .own_exam_attempt(learner, id)
        .await?
        .ok_or_else(missing)
}

/// The attempt brought up to date: one whose deadline has passed is graded before anything
/// is shown, so no view ever offers work after the end. With `wait`, a grading already under
/// way is waited for (pages); without, it is returned as it is (API polls).
pub async fn current(state: &AppState, attempt: ExamAttempt, wait: bool) -> AppResult<ExamAttempt> {
    match Phase::at(attempt.status, attempt.timer, now()) {
        Phase::Due => proctor::grade(state, attempt.id, Ending::Deadline).await,
        Phase::Grading if wait => proctor::grade(state, attempt.id, Ending::Deadline).await,
        _ => Ok(attempt),
    }
}

/// Refuses work on a task that belongs to the learner's unfinished exam: its hints,
/// solution, checks and setup stay closed until the exam is graded.
pub async fn closed_by_exam(state: &AppState, learner: &LearnerId, task: &str) -> AppResult<()> {
    match state.store.exam_holding_task(learner, task).await? {
        None => Ok(()),
        Some(attempt) => Err(AppError::Conflict(format!(
            "`{task}` is part of your exam in progress (/exams/attempts/{attempt}): its checks, hints and solution are closed until the exam is graded."
        ))),
    }
}

/// A timestamp as `2026-11-26 09:30 UTC`.
pub fn when(seconds: i64) -> String {
    k8s_openapi::jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The exam start page.
#[derive(Template)]
#[template(path = "exam-start.html")]
pub struct StartPage<'a> {
    chrome: Chrome,
    exam: &'a Exam,
    lesson: Option<&'a Lesson>,
    /// (title, id, minutes, points, context name).
    tasks: Vec<(String, String, u32, u32, String)>,
    total_points: u32,
    /// Per exam context: (name, description, default context, problem with the default).
    contexts: Vec<(String, String, String, Option<String>)>,
    /// Contexts a learner may choose.
    available: Vec<String>,
    /// The unfinished attempt, if any.
    open: Option<i64>,
    /// Graded attempts, newest first: (id, when, score, percent, passed, late?).
    history: Vec<(i64, String, String, String, bool, bool)>,
    /// Percent of each graded attempt, oldest first.
    trend: Vec<String>,
    weakest: Vec<TaskTrend>,
}

impl SizedPage for StartPage<'_> {}

/// Per-task results of a graded attempt; a task without a verdict scores 0 of its points.
fn records(attempt: &ExamAttempt, tasks: &[ExamTask]) -> Vec<TaskRecord> {
    attempt
        .definition
        .tasks
        .iter()
        .map(|snapshot| {
            let verdict = tasks
                .iter()
                .find(|t| t.task_id == snapshot.task)
                .and_then(|t| t.verdict.as_ref());
            TaskRecord {
                task: snapshot.task.clone(),
                score: verdict.map_or(0, |v| v.score),
                max: verdict.map_or(snapshot.max_points, |v| v.max_score),
            }
        })
        .collect()
}

fn score_of(attempt: &ExamAttempt) -> Option<ExamScore> {
    let (score, max) = (attempt.score?, attempt.max_score?);
    let record = TaskRecord {
        task: String::new(),
        score: u32::try_from(score).ok()?,
        max: u32::try_from(max).ok()?,
    };
    Some(exam::total(&[record], attempt.definition.pass_mark))
}

/// `GET /exams/{exam}`.
pub async fn start_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    let exam = find_exam(&state, &id)?;
    let me = state.store.snapshot(&l).await?;
    let chrome = Chrome::of(&state, &me);
    let fallback = state.learner_context(&me).ok();
    let available = state.clusters.contexts().unwrap_or_default();
    let contexts = exam
        .contexts
        .iter()
        .map(|c| {
            let default = if available.contains(&c.name) {
                Some(c.name.clone())
            } else {
                fallback.clone()
            };
            let problem = match &default {
                None => Some("no such context and no default context".to_string()),
                Some(ctx) => state
                    .statuses
                    .peek(&state.clusters, ctx)
                    .and_then(|s| s.problem.clone()),
            };
            (
                c.name.clone(),
                c.description.clone(),
                default.unwrap_or_default(),
                problem,
            )
        })
        .collect();
    let tasks: Vec<(String, String, u32, u32, String)> = exam
        .tasks
        .iter()
        .filter_map(|entry| {
            let task = state.catalogue.task(&entry.task)?;
            Some((
                task.title.clone(),
                task.id.clone(),
                task.minutes,
                task.max_points(),
                entry.context.clone(),
            ))
        })
        .collect();
    let history_rows = state.store.exam_history(&l, &exam.id).await?;
    let open = history_rows
        .iter()
        .find(|a| a.status != Status::Graded)
        .map(|a| a.id);
    let graded: Vec<&ExamAttempt> = history_rows
        .iter()
        .filter(|a| a.status == Status::Graded)
        .collect();
    let mut per_attempt = Vec::new();
    for attempt in &graded {
        per_attempt.push(records(attempt, &state.store.exam_tasks(attempt.id).await?));
    }
    let history = graded
        .iter()
        .filter_map(|a| {
            let score = score_of(a)?;
            Some((
                a.id,
                when(a.graded_at.unwrap_or(a.created_at)),
                format!("{}/{}", score.score, score.max),
                score.percent(),
                score.passed,
                a.late_reason.is_some(),
            ))
        })
        .collect();
    let trend = graded
        .iter()
        .rev()
        .filter_map(|a| score_of(a).map(|s| s.percent()))
        .collect();
    Ok(Page(StartPage {
        chrome,
        lesson: exam
            .lesson
            .as_deref()
            .and_then(|l| state.catalogue.lesson(l)),
        total_points: tasks.iter().map(|t| t.3).sum(),
        tasks,
        contexts,
        available,
        open,
        history,
        trend,
        weakest: exam::weakest(&per_attempt),
        exam,
    })
    .into_response())
}

/// `POST /exams/{exam}/start`: fields `context.<name>` choose contexts (empty = default).
pub async fn start_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(fields) =
        form.map_err(|e| AppError::rejected(e.status(), format!("Bad form: {}", e.body_text())))?;
    let exam = find_exam(&state, &id)?;
    let chosen = fields
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("context.")?.to_string(), v)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let (attempt, _) = proctor::start(&state, &l, exam, &chosen).await?;
    Ok(Redirect::to(&format!("/exams/attempts/{attempt}")))
}

/// One task in the exam view's list.
pub struct TaskLine<'a> {
    /// The frozen task.
    pub task: &'a TaskSnapshot,
    /// Its stored state.
    pub state: &'a ExamTask,
}

/// The exam view while preparing or running.
#[derive(Template)]
#[template(path = "exam.html")]
pub struct ExamPage<'a> {
    chrome: Chrome,
    attempt: &'a ExamAttempt,
    tasks: Vec<TaskLine<'a>>,
    /// The task shown.
    current: Option<TaskLine<'a>>,
    preparing: bool,
    deadline: i64,
    remaining: String,
    notice: bool,
    flagged: usize,
    now: i64,
}

impl SizedPage for ExamPage<'_> {}

/// `?task=` on the exam view.
#[derive(Deserialize)]
pub struct TaskQuery {
    task: Option<String>,
}

/// `GET /exams/attempts/{id}`: setup progress, then the running exam; a graded attempt
/// redirects to its report.
pub async fn view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TaskQuery>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    let attempt = current(&state, own_attempt(&state, &l, &id).await?, true).await?;
    let t = now();
    let phase = Phase::at(attempt.status, attempt.timer, t);
    let (remaining, notice) = match phase {
        Phase::Running { remaining, notice } => (remaining, notice),
        Phase::Preparing => (0, false),
        _ => {
            return Ok(
                Redirect::to(&format!("/exams/attempts/{}/report", attempt.id)).into_response(),
            );
        }
    };
    let stored = state.store.exam_tasks(attempt.id).await?;
    let views = if phase == Phase::Preparing {
        Vec::new()
    } else {
        state.store.exam_views(attempt.id).await?
    };
    // The task asked for, else the one last opened, else the first.
    let chosen = query
        .task
        .filter(|t| attempt.definition.task(t).is_some())
        .or_else(|| views.last().map(|(task, _)| task.clone()))
        .or_else(|| attempt.definition.tasks.first().map(|t| t.task.clone()));
    if phase != Phase::Preparing
        && let Some(task) = &chosen
        && views.last().is_none_or(|(last, _)| last != task)
    {
        state.store.record_exam_view(attempt.id, task, t).await?;
    }
    let me = state.store.snapshot(&l).await?;
    let line = |task: &str| {
        let snapshot = attempt.definition.task(task)?;
        let state = stored.iter().find(|s| s.task_id == task)?;
        Some(TaskLine {
            task: snapshot,
            state,
        })
    };
    let tasks: Vec<TaskLine> = attempt
        .definition
        .tasks
        .iter()
        .filter_map(|t| line(&t.task))
        .collect();
    let current = if phase == Phase::Preparing {
        None
    } else {
        chosen.as_deref().and_then(line)
    };
    Ok(Page(ExamPage {
        chrome: Chrome::of(&state, &me),
        flagged: stored.iter().filter(|s| s.flagged).count(),
        preparing: phase == Phase::Preparing,
        deadline: attempt.timer.map(|t| t.deadline_at).unwrap_or(0),
        remaining: clock(remaining),
        notice,
        now: t,
        tasks,
        current,
        attempt: &attempt,
    })
    .into_response())
}

/// `flagged=1|0`.
#[derive(Deserialize)]
pub struct FlagForm {
    flagged: String,
}

/// `POST /exams/attempts/{id}/tasks/{task}/flag`.
pub async fn flag_form(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    CurrentLearner(l): CurrentLearner,
    form: Result<Form<FlagForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) =
        form.map_err(|e| AppError::rejected(e.status(), format!("Bad form: {}", e.body_text())))?;
    let attempt = own_attempt(&state, &l, &id).await?;
    flag(&state, &attempt, &task, form.flagged == "1").await?;
    Ok(Redirect::to(&format!(
        "/exams/attempts/{}?task={task}",
        attempt.id
    )))
}

/// Sets a review flag, refused once the exam has ended.
pub async fn flag(
    state: &AppState,
    attempt: &ExamAttempt,
    task: &str,
    flagged: bool,
) -> AppResult<()> {
    if attempt.definition.task(task).is_none() {
        return Err(AppError::NotFound(format!(
            "The exam has no task `{task}`."
        )));
    }
    let t = now();
    Phase::at(attempt.status, attempt.timer, t)
        .accepts_work()
        .map_err(|refused| AppError::Conflict(format!("Cannot flag `{task}`: {refused}.")))?;
    if !state
        .store
        .flag_exam_task(attempt.id, task, flagged, t)
        .await?
    {
        return Err(AppError::Conflict(format!(
            "Cannot flag `{task}`: the exam has ended."
        )));
    }
    Ok(())
}

/// `POST /exams/attempts/{id}/tasks/{task}/setup`: retries a failed setup.
pub async fn setup_form(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let attempt = own_attempt(&state, &l, &id).await?;
    proctor::retry_setup(&state, &attempt, &task).await?;
    Ok(Redirect::to(&format!(
        "/exams/attempts/{}?task={task}",
        attempt.id
    )))
}

/// `POST /exams/attempts/{id}/submit`: grades now; returns once grading is done.
pub async fn submit_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let attempt = own_attempt(&state, &l, &id).await?;
    proctor::grade(&state, attempt.id, Ending::Submitted).await?;
    Ok(Redirect::to(&format!(
        "/exams/attempts/{}/report",
        attempt.id
    )))
}

/// `POST /exams/attempts/{id}/regrade`.
pub async fn regrade_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let attempt = own_attempt(&state, &l, &id).await?;
    proctor::regrade(&state, &l, attempt.id).await?;
    Ok(Redirect::to(&format!(
        "/exams/attempts/{}/report",
        attempt.id
    )))
}

/// One task of the report.
pub struct ReportTask<'a> {
    /// The frozen task.
    pub task: &'a TaskSnapshot,
    /// Its verdict, shaped for the shared verdict partial.
    pub last: Option<VerdictView>,
    /// Time spent, mm:ss.
    pub spent: String,
    /// Flagged for review.
    pub flagged: bool,
}

/// The printable report.
#[derive(Template)]
#[template(path = "exam-report.html")]
pub struct ReportPage<'a> {
    chrome: Chrome,
    attempt: &'a ExamAttempt,
    score: ExamScore,
    tasks: Vec<ReportTask<'a>>,
    ended: String,
    graded: String,
    submitted_early: bool,
    regraded: Option<String>,
    has_errors: bool,
    /// The verdicts were judged against other content than the exam started with.
    content_changed: bool,
}

impl SizedPage for ReportPage<'_> {
    fn capacity(&self) -> usize {
        64 * 1024
    }
}

/// `GET /exams/attempts/{id}/report`.
pub async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    let attempt = current(&state, own_attempt(&state, &l, &id).await?, true).await?;
    if attempt.status != Status::Graded {
        return Ok(Redirect::to(&format!("/exams/attempts/{}", attempt.id)).into_response());
    }
    let stored = state.store.exam_tasks(attempt.id).await?;
    let tasks: Vec<ReportTask> = attempt
        .definition
        .tasks
        .iter()
        .map(|snapshot| {
            let row = stored.iter().find(|s| s.task_id == snapshot.task);
            ReportTask {
                task: snapshot,
                last: row
                    .and_then(|r| r.verdict.clone())
                    .map(|verdict| VerdictView {
                        verdict,
                        at: attempt.graded_at.map(when).unwrap_or_default(),
                        stale: false,
                    }),
                spent: clock(row.and_then(|r| r.seconds_spent).unwrap_or(0)),
                flagged: row.is_some_and(|r| r.flagged),
            }
        })
        .collect();
    let records: Vec<TaskRecord> = records(&attempt, &stored);
    let score = exam::total(&records, attempt.definition.pass_mark);
    let has_errors = tasks.iter().any(|t| {
        t.last.as_ref().is_none_or(|v| {
            v.verdict
                .criteria
                .iter()
                .any(|c| c.status == crate::checks::Status::Error)
        })
    });
    let me = state.store.snapshot(&l).await?;
    Ok(Page(ReportPage {
        chrome: Chrome::of(&state, &me),
        score,
        tasks,
        ended: attempt.ended_at.map(when).unwrap_or_default(),
        graded: attempt.graded_at.map(when).unwrap_or_default(),
        submitted_early: attempt.submitted_at.is_some(),
        regraded: attempt.regraded_at.map(when),
        has_errors,
        content_changed: attempt
            .graded_digest
            .as_ref()
            .is_some_and(|d| *d != attempt.content_digest),
        attempt: &attempt,
    })
    .into_response())
}

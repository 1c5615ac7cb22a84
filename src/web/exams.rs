//! Practice exam pages: the start page with rules and history, the exam view while it runs,
//! and the printable report. The server owns time and scores; pages only show them.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::clock::{Precision, mm_ss, utc};
use crate::content::{Exam, Lesson};
use crate::exam::{ExamScore, Phase, TaskSnapshot, TaskTrend};
use crate::service::{ExamReport, ServiceError};
use crate::store::{ExamAttempt, ExamTask};
use crate::web::error::{AppError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;
use crate::web::task::VerdictView;

/// A task as the start page lists it.
pub struct TaskRow {
    /// Title.
    pub title: String,
    /// Guide time in minutes.
    pub minutes: u32,
    /// Points available.
    pub points: u32,
    /// The exam's context it runs on.
    pub slot: String,
}

/// One exam context and the kubeconfig context it would run on.
pub struct ContextChoice {
    /// The exam's name for it.
    pub name: String,
    /// What it must be.
    pub description: String,
    /// The kubeconfig context chosen by default (empty if none).
    pub default: String,
    /// Why that context cannot be used, if it cannot.
    pub problem: Option<String>,
}

/// A graded attempt in the history.
pub struct HistoryRow {
    /// Attempt id.
    pub id: i64,
    /// When it was graded.
    pub graded: String,
    /// `score/max`.
    pub score: String,
    /// Percentage with one decimal.
    pub percent: String,
    /// Reached the pass mark.
    pub passed: bool,
    /// Some criterion could not be judged when the exam ended.
    pub incomplete: bool,
    /// Graded late.
    pub late: bool,
}

/// The exam start page.
#[derive(Template)]
#[template(path = "exam-start.html")]
pub struct StartPage<'a> {
    chrome: Chrome,
    exam: &'a Exam,
    lesson: Option<&'a Lesson>,
    tasks: Vec<TaskRow>,
    total_points: u32,
    contexts: Vec<ContextChoice>,
    /// Contexts a learner may choose.
    available: Vec<String>,
    /// The unfinished attempt, if any.
    open: Option<i64>,
    /// Graded attempts, newest first.
    history: Vec<HistoryRow>,
    /// Percent of each graded attempt, oldest first.
    trend: Vec<String>,
    weakest: Vec<TaskTrend>,
}

impl SizedPage for StartPage<'_> {}

/// `GET /exams/{exam}`.
pub async fn start_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    let exam = state.service.exam(&id)?;
    let overview = state.service.exam_overview(&l, &id).await?;
    let catalogue = state.service.catalogue();
    let tasks: Vec<TaskRow> = exam
        .tasks
        .iter()
        .filter_map(|entry| {
            let task = catalogue.task(&entry.task)?;
            Some(TaskRow {
                title: task.title.clone(),
                minutes: task.minutes,
                points: task.max_points(),
                slot: entry.context.clone(),
            })
        })
        .collect();
    let contexts = overview
        .slots
        .into_iter()
        .map(|s| ContextChoice {
            name: s.slot.name.clone(),
            description: s.slot.description.clone(),
            default: s.default.unwrap_or_default(),
            problem: s.problem,
        })
        .collect();
    let history = overview.graded.iter().map(history_row).collect();
    let trend = overview
        .graded
        .iter()
        .rev()
        .map(|r| r.score.percent())
        .collect();
    Ok(Page(StartPage {
        chrome: Chrome::load(&state, &l).await?,
        lesson: exam.lesson.as_deref().and_then(|l| catalogue.lesson(l)),
        total_points: tasks.iter().map(|t| t.points).sum(),
        tasks,
        contexts,
        available: overview.available,
        open: overview.open,
        history,
        trend,
        weakest: overview.weakest,
        exam,
    })
    .into_response())
}

fn history_row(report: &ExamReport) -> HistoryRow {
    let attempt = &report.attempt;
    HistoryRow {
        id: attempt.id,
        graded: utc(
            attempt.graded_at.unwrap_or(attempt.created_at),
            Precision::Minute,
        ),
        score: format!("{}/{}", report.score.score, report.score.max),
        percent: report.score.percent(),
        passed: report.score.passed,
        incomplete: !report.complete(),
        late: attempt.late_reason.is_some(),
    }
}

/// `POST /exams/{exam}/start`: fields `context.<name>` choose contexts (empty = default).
pub async fn start_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(fields) = form.map_err(AppError::from_form)?;
    let chosen = fields
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("context.")?.to_string(), v)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let (view, _) = state.service.start_exam(&l, &id, &chosen).await?;
    Ok(Redirect::to(&format!(
        "/exams/attempts/{}",
        view.attempt.id
    )))
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
    let session = state
        .service
        .open_exam(&l, &id, query.task.as_deref())
        .await?;
    let view = &session.view;
    let attempt = &view.attempt;
    let (remaining, notice) = match view.phase {
        Phase::Running { remaining, notice } => (remaining, notice),
        Phase::Preparing => (0, false),
        _ => {
            return Ok(
                Redirect::to(&format!("/exams/attempts/{}/report", attempt.id)).into_response(),
            );
        }
    };
    let line = |task: &str| {
        Some(TaskLine {
            task: attempt.definition.task(task)?,
            state: view.task(task)?,
        })
    };
    Ok(Page(ExamPage {
        chrome: Chrome::load(&state, &l).await?,
        tasks: attempt
            .definition
            .tasks
            .iter()
            .filter_map(|t| line(&t.task))
            .collect(),
        current: session.current.as_deref().and_then(line),
        flagged: view.tasks.iter().filter(|s| s.flagged).count(),
        preparing: view.phase == Phase::Preparing,
        deadline: attempt.timer.map(|t| t.deadline_at).unwrap_or(0),
        remaining: mm_ss(remaining),
        notice,
        now: view.now,
        attempt,
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
    let Form(form) = form.map_err(AppError::from_form)?;
    let view = state
        .service
        .flag(&l, &id, &task, form.flagged == "1")
        .await?;
    Ok(back_to_task(view.attempt.id, &task))
}

/// `POST /exams/attempts/{id}/tasks/{task}/setup`: retries a failed setup.
pub async fn setup_form(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let view = state.service.retry_setup(&l, &id, &task).await?;
    Ok(back_to_task(view.attempt.id, &task))
}

fn back_to_task(attempt: i64, task: &str) -> Redirect {
    Redirect::to(&format!("/exams/attempts/{attempt}?task={task}"))
}

/// `POST /exams/attempts/{id}/submit`: grades now; returns once grading is done.
pub async fn submit_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let view = state.service.submit(&l, &id).await?;
    Ok(to_report(view.attempt.id))
}

fn to_report(attempt: i64) -> Redirect {
    Redirect::to(&format!("/exams/attempts/{attempt}/report"))
}

/// One task of the report.
pub struct ReportTaskView<'a> {
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
    tasks: Vec<ReportTaskView<'a>>,
    ended: String,
    graded: String,
    submitted_early: bool,
    regraded: Option<String>,
    incomplete: Option<String>,
    /// The verdicts were judged against other content than the exam started with.
    content_changed: bool,
}

impl SizedPage for ReportPage<'_> {
    fn capacity(&self) -> usize {
        64 * 1024
    }
}

/// `GET /exams/attempts/{id}/report`: an attempt not graded yet redirects to its view.
pub async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    let report = match state.service.report(&l, &id, true).await {
        Ok(report) => report,
        Err(ServiceError::ExamNotGraded { attempt, .. }) => {
            return Ok(Redirect::to(&format!("/exams/attempts/{attempt}")).into_response());
        }
        Err(err) => return Err(err.into()),
    };
    let attempt = &report.attempt;
    let when = |at: Option<i64>| at.map(|t| utc(t, Precision::Minute));
    let tasks = report
        .tasks
        .iter()
        .map(|t| ReportTaskView {
            task: &t.task,
            last: t.verdict.clone().map(|verdict| VerdictView {
                verdict,
                at: when(attempt.graded_at).unwrap_or_default(),
                stale: false,
            }),
            spent: mm_ss(t.seconds_spent),
            flagged: t.flagged,
        })
        .collect();
    Ok(Page(ReportPage {
        chrome: Chrome::load(&state, &l).await?,
        score: report.score,
        tasks,
        ended: when(attempt.ended_at).unwrap_or_default(),
        graded: when(attempt.graded_at).unwrap_or_default(),
        submitted_early: attempt.submitted_at.is_some(),
        regraded: when(attempt.regraded_at),
        incomplete: report.incomplete_reason.clone(),
        content_changed: report.content_changed(),
        attempt,
    })
    .into_response())
}

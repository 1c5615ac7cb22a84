//! The practice exam JSON API, on the same cookie identity as the pages.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::checks::CriterionResult;
use crate::error::{ApiError, AppError};
use crate::exam::{self, Phase, Status, TaskRecord};
use crate::proctor::{self, Ending};
use crate::state::AppState;
use crate::store::ExamAttempt;
use crate::timer::now;
use crate::web::exams::{current, find_exam, flag, own_attempt};
use crate::web::identity::CurrentLearner;

/// `POST /api/v1/exams/{exam}/attempts` body; `{}` takes the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// Exam context name to kubeconfig context.
    #[serde(default)]
    contexts: BTreeMap<String, String>,
}

/// One task in the attempt body.
#[derive(Serialize)]
pub struct TaskState {
    task: String,
    title: String,
    context: String,
    max_score: u32,
    setup: String,
    setup_detail: String,
    flagged: bool,
}

/// An attempt's state.
#[derive(Serialize)]
pub struct AttemptBody {
    id: i64,
    exam: String,
    /// `preparing`, `running` or `graded`.
    status: &'static str,
    /// True in the moment between the end of work and the stored grade.
    grading: bool,
    created_at: i64,
    started_at: Option<i64>,
    deadline_at: Option<i64>,
    /// Seconds left, while running.
    remaining_seconds: Option<i64>,
    /// Five minutes or less are left.
    notice: bool,
    tasks: Vec<TaskState>,
    /// Where the exam view is.
    url: String,
    /// Where the report is, once graded.
    report_url: Option<String>,
}

async fn body(state: &AppState, attempt: &ExamAttempt) -> Result<AttemptBody, ApiError> {
    let stored = state.store.exam_tasks(attempt.id).await?;
    let (remaining, notice) = match Phase::at(attempt.status, attempt.timer, now()) {
        Phase::Running { remaining, notice } => (Some(remaining), notice),
        _ => (None, false),
    };
    Ok(AttemptBody {
        id: attempt.id,
        exam: attempt.exam_id.clone(),
        status: attempt.status.public(),
        grading: attempt.status == Status::Grading,
        created_at: attempt.created_at,
        started_at: attempt.timer.map(|t| t.started_at),
        deadline_at: attempt.timer.map(|t| t.deadline_at),
        remaining_seconds: remaining,
        notice,
        tasks: attempt
            .definition
            .tasks
            .iter()
            .map(|t| {
                let row = stored.iter().find(|s| s.task_id == t.task);
                TaskState {
                    task: t.task.clone(),
                    title: t.title.clone(),
                    context: t.context.clone(),
                    max_score: t.max_points,
                    setup: row.map(|r| r.setup_state.clone()).unwrap_or_default(),
                    setup_detail: row.map(|r| r.setup_detail.clone()).unwrap_or_default(),
                    flagged: row.is_some_and(|r| r.flagged),
                }
            })
            .collect(),
        url: format!("/exams/attempts/{}", attempt.id),
        report_url: (attempt.status == Status::Graded)
            .then(|| format!("/exams/attempts/{}/report", attempt.id)),
    })
}

/// `POST /api/v1/exams/{exam}/attempts`: starts an attempt (or returns the unfinished one).
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
    payload: Result<Json<StartBody>, JsonRejection>,
) -> Result<(StatusCode, Json<AttemptBody>), ApiError> {
    let request = match payload {
        Ok(Json(body)) => body,
        // No body at all takes the defaults too.
        Err(JsonRejection::MissingJsonContentType(_)) => StartBody::default(),
        Err(e) => return Err(AppError::rejected(e.status(), e.body_text()).into()),
    };
    let exam = find_exam(&state, &id)?;
    let (attempt_id, created) = proctor::start(&state, &l, exam, &request.contexts).await?;
    let attempt = own_attempt(&state, &l, &attempt_id.to_string()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(body(&state, &attempt).await?)))
}

/// `GET /api/v1/exam-attempts/{id}`: answers at once; while grading runs it says so.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let attempt = current(&state, own_attempt(&state, &l, &id).await?, false).await?;
    Ok(Json(body(&state, &attempt).await?))
}

/// `POST /api/v1/exam-attempts/{id}/submit`: returns once grading is done.
pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let attempt = own_attempt(&state, &l, &id).await?;
    let graded = proctor::grade(&state, attempt.id, Ending::Submitted).await?;
    Ok(Json(body(&state, &graded).await?))
}

/// `POST /api/v1/exam-attempts/{id}/regrade`: re-checks tasks with unjudged criteria.
pub async fn regrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<ReportBody>, ApiError> {
    let attempt = own_attempt(&state, &l, &id).await?;
    let attempt = proctor::regrade(&state, &l, attempt.id).await?;
    report_body(&state, &attempt).await
}

/// `{"flagged": bool}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagBody {
    flagged: bool,
}

/// `PUT /api/v1/exam-attempts/{id}/tasks/{task}/flag`.
pub async fn put_flag(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    CurrentLearner(l): CurrentLearner,
    payload: Result<Json<FlagBody>, JsonRejection>,
) -> Result<Json<AttemptBody>, ApiError> {
    let Json(request) = payload.map_err(|e| AppError::rejected(e.status(), e.body_text()))?;
    let attempt = own_attempt(&state, &l, &id).await?;
    flag(&state, &attempt, &task, request.flagged).await?;
    Ok(Json(body(&state, &attempt).await?))
}

/// `POST /api/v1/exam-attempts/{id}/tasks/{task}/setup`: retries a setup while running.
pub async fn retry_setup(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let attempt = own_attempt(&state, &l, &id).await?;
    proctor::retry_setup(&state, &attempt, &task).await?;
    Ok(Json(body(&state, &attempt).await?))
}

/// One task of the report.
#[derive(Serialize)]
pub struct ReportTask {
    task: String,
    title: String,
    context: String,
    score: u32,
    max_score: u32,
    seconds_spent: i64,
    flagged: bool,
    criteria: Vec<CriterionResult>,
}

/// `GET /api/v1/exam-attempts/{id}/report` body.
#[derive(Serialize)]
pub struct ReportBody {
    id: i64,
    exam: String,
    score: u32,
    max_score: u32,
    percent: String,
    pass_mark: u32,
    passed: bool,
    submitted_at: Option<i64>,
    ended_at: Option<i64>,
    graded_at: Option<i64>,
    graded_late: bool,
    late_reason: Option<String>,
    regraded_at: Option<i64>,
    content_digest: String,
    tasks: Vec<ReportTask>,
}

async fn report_body(
    state: &AppState,
    attempt: &ExamAttempt,
) -> Result<Json<ReportBody>, ApiError> {
    let stored = state.store.exam_tasks(attempt.id).await?;
    let tasks: Vec<ReportTask> = attempt
        .definition
        .tasks
        .iter()
        .map(|t| {
            let row = stored.iter().find(|s| s.task_id == t.task);
            let verdict = row.and_then(|r| r.verdict.as_ref());
            ReportTask {
                task: t.task.clone(),
                title: t.title.clone(),
                context: t.context.clone(),
                score: verdict.map(|v| v.score).unwrap_or(0),
                max_score: verdict.map(|v| v.max_score).unwrap_or(t.max_points),
                seconds_spent: row.and_then(|r| r.seconds_spent).unwrap_or(0),
                flagged: row.is_some_and(|r| r.flagged),
                criteria: verdict.map(|v| v.criteria.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let records: Vec<TaskRecord> = tasks
        .iter()
        .map(|t| TaskRecord {
            task: t.task.clone(),
            score: t.score,
            max: t.max_score,
        })
        .collect();
    let total = exam::total(&records, attempt.definition.pass_mark);
    Ok(Json(ReportBody {
        id: attempt.id,
        exam: attempt.exam_id.clone(),
        score: total.score,
        max_score: total.max,
        percent: total.percent(),
        pass_mark: attempt.definition.pass_mark,
        passed: total.passed,
        submitted_at: attempt.submitted_at,
        ended_at: attempt.ended_at,
        graded_at: attempt.graded_at,
        graded_late: attempt.late_reason.is_some(),
        late_reason: attempt.late_reason.clone(),
        regraded_at: attempt.regraded_at,
        content_digest: attempt.content_digest.clone(),
        tasks,
    }))
}

/// `GET /api/v1/exam-attempts/{id}/report`: 409 until graded.
pub async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<ReportBody>, ApiError> {
    let attempt = current(&state, own_attempt(&state, &l, &id).await?, false).await?;
    if attempt.status != Status::Graded {
        return Err(AppError::Conflict(format!(
            "Exam attempt {} is not graded yet: it is {}.",
            attempt.id,
            attempt.status.public()
        ))
        .into());
    }
    report_body(&state, &attempt).await
}

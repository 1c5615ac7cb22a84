//! The practice exam JSON API, on the same cookie identity as the pages.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::checks::CriterionResult;
use crate::exam::{Phase, Status};
use crate::service::{AttemptView, ExamReport};
use crate::web::error::{ApiError, AppError};
use crate::web::identity::CurrentLearner;
use crate::web::state::AppState;

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
    /// `pending`, `running`, `ok` or `failed`.
    setup: &'static str,
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

impl AttemptBody {
    fn of(view: &AttemptView) -> AttemptBody {
        let attempt = &view.attempt;
        let (remaining, notice) = match view.phase {
            Phase::Running { remaining, notice } => (Some(remaining), notice),
            _ => (None, false),
        };
        AttemptBody {
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
                    let row = view.task(&t.task);
                    TaskState {
                        task: t.task.clone(),
                        title: t.title.clone(),
                        context: t.context.clone(),
                        max_score: t.max_points,
                        setup: row.map(|r| r.setup_state.as_str()).unwrap_or_default(),
                        setup_detail: row.map(|r| r.setup_detail.clone()).unwrap_or_default(),
                        flagged: row.is_some_and(|r| r.flagged),
                    }
                })
                .collect(),
            url: format!("/exams/attempts/{}", attempt.id),
            report_url: (attempt.status == Status::Graded)
                .then(|| format!("/exams/attempts/{}/report", attempt.id)),
        }
    }
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
        Err(e) => return Err(AppError::from_json(e).into()),
    };
    let (view, created) = state.service.start_exam(&l, &id, &request.contexts).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(AttemptBody::of(&view))))
}

/// `GET /api/v1/exam-attempts/{id}`: answers at once; while grading runs it says so.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let view = state.service.attempt(&l, &id, false).await?;
    Ok(Json(AttemptBody::of(&view)))
}

/// `POST /api/v1/exam-attempts/{id}/submit`: returns once grading is done.
pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    Ok(Json(AttemptBody::of(&state.service.submit(&l, &id).await?)))
}

/// `POST /api/v1/exam-attempts/{id}/regrade`: refused (409) once graded: an exam is judged
/// only on what was observed when it ended.
pub async fn regrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<ReportBody>, ApiError> {
    Ok(Json(ReportBody::of(&state.service.regrade(&l, &id).await?)))
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
    let Json(request) = payload.map_err(AppError::from_json)?;
    let view = state.service.flag(&l, &id, &task, request.flagged).await?;
    Ok(Json(AttemptBody::of(&view)))
}

/// `POST /api/v1/exam-attempts/{id}/tasks/{task}/setup`: retries a setup while running.
pub async fn retry_setup(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let view = state.service.retry_setup(&l, &id, &task).await?;
    Ok(Json(AttemptBody::of(&view)))
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
    complete: bool,
    incomplete_reason: Option<String>,
    submitted_at: Option<i64>,
    ended_at: Option<i64>,
    graded_at: Option<i64>,
    graded_late: bool,
    late_reason: Option<String>,
    regraded_at: Option<i64>,
    content_digest: String,
    tasks: Vec<ReportTask>,
}

impl ReportBody {
    fn of(report: &ExamReport) -> ReportBody {
        let attempt = &report.attempt;
        ReportBody {
            id: attempt.id,
            exam: attempt.exam_id.clone(),
            score: report.score.score,
            max_score: report.score.max,
            percent: report.score.percent(),
            pass_mark: attempt.definition.pass_mark,
            passed: report.score.passed,
            complete: report.complete(),
            incomplete_reason: report.incomplete_reason.clone(),
            submitted_at: attempt.submitted_at,
            ended_at: attempt.ended_at,
            graded_at: attempt.graded_at,
            graded_late: attempt.late_reason.is_some(),
            late_reason: attempt.late_reason.clone(),
            regraded_at: attempt.regraded_at,
            content_digest: attempt.content_digest.clone(),
            tasks: report
                .tasks
                .iter()
                .map(|t| {
                    let record = t.record();
                    ReportTask {
                        task: t.task.task.clone(),
                        title: t.task.title.clone(),
                        context: t.task.context.clone(),
                        score: record.score,
                        max_score: record.max,
                        seconds_spent: t.seconds_spent,
                        flagged: t.flagged,
                        criteria: t
                            .verdict
                            .as_ref()
                            .map(|v| v.criteria.clone())
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/exam-attempts/{id}/report`: 409 until graded.
pub async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<ReportBody>, ApiError> {
    Ok(Json(ReportBody::of(
        &state.service.report(&l, &id, false).await?,
    )))
}

//! Timed practice of one task: the no-JavaScript forms and the JSON API.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Serialize;

use crate::store::PracticeAttempt;
use crate::web::error::{ApiError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::state::AppState;

/// `POST /tasks/{task}/practice/start`.
pub async fn start_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let attempt = state.service.start_practice(&l, &id).await?;
    Ok(Redirect::to(&format!(
        "/tasks/{}#practice",
        attempt.task_id
    )))
}

/// `POST /tasks/{task}/practice/finish`.
pub async fn finish_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let finished = state.service.finish_practice(&l, &id).await?;
    Ok(Redirect::to(&format!(
        "/tasks/{}#practice",
        finished.attempt.task_id
    )))
}

/// An attempt as the API shows it.
#[derive(Serialize)]
pub struct AttemptBody {
    id: i64,
    task: String,
    started_at: i64,
    deadline_at: i64,
    remaining_seconds: i64,
    overtime: bool,
    finished_at: Option<i64>,
    seconds_used: Option<i64>,
    score: Option<i64>,
    max_score: Option<i64>,
    passed: Option<bool>,
    setup_ok: bool,
    setup_detail: String,
}

fn body(attempt: &PracticeAttempt, now: i64) -> AttemptBody {
    let timer = attempt.timer();
    let at = attempt.finished_at.unwrap_or(now);
    AttemptBody {
        id: attempt.id,
        task: attempt.task_id.clone(),
        started_at: attempt.started_at,
        deadline_at: attempt.deadline_at,
        remaining_seconds: timer.remaining(at),
        overtime: timer.overtime(at),
        finished_at: attempt.finished_at,
        seconds_used: attempt.finished_at.map(|f| timer.used(f)),
        score: attempt.score,
        max_score: attempt.max_score,
        passed: attempt.passed,
        setup_ok: attempt.setup_ok,
        setup_detail: attempt.setup_detail.clone(),
    }
}

/// `GET /api/v1/tasks/{task}/practice` body.
#[derive(Serialize)]
pub struct PracticeBody {
    now: i64,
    open: Option<AttemptBody>,
    history: Vec<AttemptBody>,
    best_score: Option<i64>,
}

/// `GET /api/v1/tasks/{task}/practice`: the running attempt and the history.
pub async fn api_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<PracticeBody>, ApiError> {
    let board = state.service.practice(&l, &id).await?;
    Ok(Json(PracticeBody {
        now: board.now,
        open: board.open().map(|a| body(a, board.now)),
        history: board.history.iter().map(|a| body(a, board.now)).collect(),
        best_score: board.best_score(),
    }))
}

/// `POST /api/v1/tasks/{task}/practice`: starts (or returns the running) attempt.
pub async fn api_start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let attempt = state.service.start_practice(&l, &id).await?;
    Ok(Json(body(&attempt, state.service.clock().now())))
}

/// `POST /api/v1/tasks/{task}/practice/finish`: the final check and the time used.
pub async fn api_finish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let finished = state.service.finish_practice(&l, &id).await?;
    Ok(Json(body(&finished.attempt, state.service.clock().now())))
}

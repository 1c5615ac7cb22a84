//! Timed practice of one task: Start runs the setup and starts the server-side clock;
//! Finish records the time used and the final verdict.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Serialize;

use crate::checks::Verdict;
use crate::content::Task;
use crate::error::{ApiError, AppError, AppResult};
use crate::setup;
use crate::state::AppState;
use crate::store::{LearnerId, PracticeAttempt};
use crate::timer::Timer;
use crate::web::check::{context_for, find_task, run_stored};
use crate::web::identity::CurrentLearner;

use crate::timer::now;

async fn start(state: &AppState, learner: &LearnerId, task: &Task) -> AppResult<PracticeAttempt> {
    crate::web::exams::closed_by_exam(state, learner, &task.id).await?;
    if let Some(open) = state.store.open_practice(learner, &task.id).await? {
        return Ok(open);
    }
    let me = state.store.snapshot(learner).await?;
    let setup_result = match context_for(state, &me) {
        Err(err) => (false, err.to_string()),
        Ok(context) => match state.clusters.connect(&context).await {
            Err(err) => (false, err.to_string()),
            Ok(conn) => {
                let outcome = setup::setup(&conn, &state.setup, &state.catalogue, task).await;
                let detail = if outcome.steps.is_empty() {
                    "nothing to set up".to_string()
                } else {
                    outcome
                        .steps
                        .iter()
                        .map(|s| format!("{}: {}", s.step, s.detail))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                (outcome.ok, detail)
            }
        },
    };
    // The clock starts after setup, so a slow setup does not eat the learner's time.
    let timer = Timer::start(now(), task.minutes);
    Ok(state
        .store
        .start_practice(
            learner,
            &task.id,
            timer,
            (setup_result.0, &setup_result.1),
            &state.catalogue.digest,
        )
        .await?)
}

async fn finish(
    state: &AppState,
    learner: &LearnerId,
    task: &Task,
) -> AppResult<(PracticeAttempt, Verdict)> {
    crate::web::exams::closed_by_exam(state, learner, &task.id).await?;
    let open = state
        .store
        .open_practice(learner, &task.id)
        .await?
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "No timed attempt at `{}` is running: start one first.",
                task.id
            ))
        })?;
    let (verdict, run) = run_stored(state, learner, task).await?;
    let finished_at = now();
    state
        .store
        .finish_practice(learner, open.id, finished_at, &verdict, run)
        .await?;
    let attempt = PracticeAttempt {
        finished_at: Some(finished_at),
        score: Some(i64::from(verdict.score)),
        max_score: Some(i64::from(verdict.max_score)),
        passed: Some(verdict.passed),
        ..open
    };
    Ok((attempt, verdict))
}

/// `POST /tasks/{task}/practice/start`.
pub async fn start_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let task = find_task(&state, &id)?;
    start(&state, &l, task).await?;
    Ok(Redirect::to(&format!("/tasks/{}#practice", task.id)))
}

/// `POST /tasks/{task}/practice/finish`.
pub async fn finish_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Redirect> {
    let task = find_task(&state, &id)?;
    finish(&state, &l, task).await?;
    Ok(Redirect::to(&format!("/tasks/{}#practice", task.id)))
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
    let task = find_task(&state, &id)?;
    let now = now();
    let history = state.store.practice_history(&l, &task.id).await?;
    let open = history
        .iter()
        .find(|a| a.finished_at.is_none())
        .map(|a| body(a, now));
    let best_score = history.iter().filter_map(|a| a.score).max();
    Ok(Json(PracticeBody {
        now,
        open,
        history: history.iter().map(|a| body(a, now)).collect(),
        best_score,
    }))
}

/// `POST /api/v1/tasks/{task}/practice`: starts (or returns the running) attempt.
pub async fn api_start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let task = find_task(&state, &id)?;
    let attempt = start(&state, &l, task).await?;
    Ok(Json(body(&attempt, now())))
}

/// `POST /api/v1/tasks/{task}/practice/finish`: the final check and the time used.
pub async fn api_finish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<AttemptBody>, ApiError> {
    let task = find_task(&state, &id)?;
    let (attempt, _) = finish(&state, &l, task).await?;
    Ok(Json(body(&attempt, now())))
}

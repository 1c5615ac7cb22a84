//! Setting up and resetting a task from the browser (confirm first) or the API.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::content::Task;
use crate::error::{ApiError, AppResult};
use crate::setup::{self, Outcome};
use crate::state::AppState;
use crate::store::LearnerId;
use crate::web::check::{context_for, find_task};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};

/// The confirmation page, and the result page after the action ran.
#[derive(Template)]
#[template(path = "task-action.html")]
pub struct ActionPage<'a> {
    chrome: Chrome,
    task: &'a Task,
    action: &'static str,
    context: String,
    steps: Vec<(String, bool)>,
    outcome: Option<Outcome>,
}

impl SizedPage for ActionPage<'_> {}

fn steps_of<'a>(task: &'a Task, action: &str) -> &'a [crate::content::Step] {
    if action == "setup" {
        &task.setup
    } else {
        &task.cleanup
    }
}

async fn perform(
    state: &AppState,
    learner: &LearnerId,
    task: &Task,
    action: &'static str,
) -> AppResult<(String, Outcome)> {
    crate::web::exams::closed_by_exam(state, learner, &task.id).await?;
    let me = state.store.snapshot(learner).await?;
    let context =
        context_for(state, &me).map_err(|e| crate::error::AppError::BadRequest(e.to_string()))?;
    let outcome = match state.clusters.connect(&context).await {
        Ok(conn) if action == "setup" => {
            setup::setup(&conn, &state.setup, &state.catalogue, task).await
        }
        Ok(conn) => setup::reset(&conn, &state.setup, &state.catalogue, task).await,
        Err(err) => Outcome {
            task: task.id.clone(),
            action,
            ok: false,
            steps: vec![setup::StepReport {
                step: "connect".into(),
                ok: false,
                detail: err.to_string(),
            }],
        },
    };
    Ok((context, outcome))
}

async fn page(
    state: &AppState,
    learner: &LearnerId,
    id: &str,
    action: &'static str,
    run: bool,
) -> AppResult<Response> {
    let task = find_task(state, id)?;
    let me = state.store.snapshot(learner).await?;
    let chrome = Chrome::of(state, &me);
    let (context, outcome) = if run {
        let (context, outcome) = perform(state, learner, task, action).await?;
        (context, Some(outcome))
    } else {
        (
            chrome
                .context
                .clone()
                .unwrap_or_else(|| "(no cluster configured)".to_string()),
            None,
        )
    };
    let steps = steps_of(task, action)
        .iter()
        .map(|s| (setup::describe(s), setup::destructive(s)))
        .collect();
    Ok(Page(ActionPage {
        chrome,
        task,
        action,
        context,
        steps,
        outcome,
    })
    .into_response())
}

/// `GET /tasks/{task}/setup`: what setup will do, and a button to do it.
pub async fn confirm_setup(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    page(&state, &l, &id, "setup", false).await
}

/// `POST /tasks/{task}/setup`.
pub async fn run_setup(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    page(&state, &l, &id, "setup", true).await
}

/// `GET /tasks/{task}/reset`.
pub async fn confirm_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    page(&state, &l, &id, "reset", false).await
}

/// `POST /tasks/{task}/reset`.
pub async fn run_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    page(&state, &l, &id, "reset", true).await
}

/// `POST /api/v1/tasks/{task}/setup`.
pub async fn api_setup(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<Outcome>, ApiError> {
    let task = find_task(&state, &id)?;
    Ok(Json(perform(&state, &l, task, "setup").await?.1))
}

/// `POST /api/v1/tasks/{task}/reset`.
pub async fn api_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<Outcome>, ApiError> {
    let task = find_task(&state, &id)?;
    Ok(Json(perform(&state, &l, task, "reset").await?.1))
}

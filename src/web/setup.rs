//! Setting up and resetting a task from the browser (confirm first) or the API.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::content::Task;
use crate::service::steps::{describe, destructive};
use crate::service::{Action, Outcome};
use crate::store::LearnerId;
use crate::web::error::{ApiError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

/// A step as the confirmation page lists it.
pub struct PlannedStep {
    /// The step in words.
    pub text: String,
    /// Whether it deletes or breaks something.
    pub destructive: bool,
}

/// The confirmation page, and the result page after the action ran.
#[derive(Template)]
#[template(path = "task-action.html")]
pub struct ActionPage<'a> {
    chrome: Chrome,
    task: &'a Task,
    action: &'static str,
    context: String,
    steps: Vec<PlannedStep>,
    outcome: Option<Outcome>,
}

impl SizedPage for ActionPage<'_> {}

async fn page(
    state: &AppState,
    learner: &LearnerId,
    id: &str,
    action: Action,
    run: bool,
) -> AppResult<Response> {
    let task = state.service.task(id)?;
    let outcome = if run {
        Some(state.service.run_steps(learner, id, action).await?)
    } else {
        None
    };
    let chrome = Chrome::load(state, learner).await?;
    let steps = action
        .steps(task)
        .iter()
        .map(|s| PlannedStep {
            text: describe(s),
            destructive: destructive(s),
        })
        .collect();
    Ok(Page(ActionPage {
        context: chrome
            .context
            .clone()
            .unwrap_or_else(|| "(no cluster configured)".to_string()),
        chrome,
        task,
        action: action.as_str(),
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
    page(&state, &l, &id, Action::Setup, false).await
}

/// `POST /tasks/{task}/setup`.
pub async fn run_setup(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    page(&state, &l, &id, Action::Setup, true).await
}

/// `GET /tasks/{task}/reset`.
pub async fn confirm_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    page(&state, &l, &id, Action::Reset, false).await
}

/// `POST /tasks/{task}/reset`.
pub async fn run_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> AppResult<Response> {
    page(&state, &l, &id, Action::Reset, true).await
}

/// `POST /api/v1/tasks/{task}/setup`.
pub async fn api_setup(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<Outcome>, ApiError> {
    Ok(Json(state.service.run_steps(&l, &id, Action::Setup).await?))
}

/// `POST /api/v1/tasks/{task}/reset`.
pub async fn api_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(l): CurrentLearner,
) -> Result<Json<Outcome>, ApiError> {
    Ok(Json(state.service.run_steps(&l, &id, Action::Reset).await?))
}

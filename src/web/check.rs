//! "Check my work": the API and the no-JavaScript form; the task page shows the stored verdict.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Redirect;

use crate::checks::Verdict;
use crate::web::error::{ApiError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::state::AppState;

/// `POST /api/v1/tasks/{task}/check`.
pub async fn api(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> Result<Json<Verdict>, ApiError> {
    Ok(Json(state.service.check_task(&learner, &id).await?))
}

/// `POST /tasks/{task}/check`.
pub async fn form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Redirect> {
    let verdict = state.service.check_task(&learner, &id).await?;
    Ok(Redirect::to(&format!("/tasks/{}#verdict", verdict.task)))
}

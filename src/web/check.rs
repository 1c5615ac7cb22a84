//! "Check my work": runs a task's checks on the learner's cluster and stores the verdict.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Redirect;

use crate::checks::Verdict;
use crate::cluster::ClusterError;
use crate::content::Task;
use crate::error::{ApiError, AppError, AppResult};
use crate::state::AppState;
use crate::store::{LearnerId, LearnerSnapshot};
use crate::web::identity::CurrentLearner;

/// The context a learner's checks use: their choice while still allowed, else the default.
pub fn context_for(state: &AppState, me: &LearnerSnapshot) -> Result<String, ClusterError> {
    state.learner_context(me)
}

/// Finds a task or answers 404.
pub fn find_task<'a>(state: &'a AppState, id: &str) -> AppResult<&'a Task> {
    state
        .catalogue
        .task(id)
        .ok_or_else(|| AppError::NotFound(format!("There is no task `{id}`.")))
}

/// Checks the task on the learner's cluster and stores the run.
pub async fn run(state: &AppState, learner: &LearnerId, task: &Task) -> AppResult<Verdict> {
    crate::web::exams::closed_by_exam(state, learner, &task.id).await?;
    Ok(run_stored(state, learner, task).await?.0)
}

/// Like [`run`], also returning the stored run's id.
pub async fn run_stored(
    state: &AppState,
    learner: &LearnerId,
    task: &Task,
) -> AppResult<(Verdict, i64)> {
    let me = state.store.snapshot(learner).await?;
    let connection = match context_for(state, &me) {
        Ok(context) => state.clusters.connect(&context).await,
        Err(err) => Err(err),
    };
    let verdict = crate::checking::check(connection, task).await;
    let id = state
        .store
        .record_check(learner, &verdict, &state.catalogue.digest)
        .await?;
    Ok((verdict, id))
}

/// `POST /api/v1/tasks/{task}/check`.
pub async fn api(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> Result<Json<Verdict>, ApiError> {
    let task = find_task(&state, &id)?;
    Ok(Json(run(&state, &learner, task).await?))
}

/// `POST /tasks/{task}/check`: the no-JavaScript form; the task page shows the stored verdict.
pub async fn form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Redirect> {
    let task = find_task(&state, &id)?;
    run(&state, &learner, task).await?;
    Ok(Redirect::to(&format!("/tasks/{}#verdict", task.id)))
}

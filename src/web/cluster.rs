//! `/cluster`: the learner's cluster status, the contexts they may switch to, and how to
//! create the lesson cluster; plus its JSON twin.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::cluster::ClusterStatus;
use crate::error::{ApiError, AppError, AppResult};
use crate::state::AppState;
use crate::web::check::context_for;
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};

/// How long `/cluster` and its API wait for a fresh status before showing the cached one.
const FRESH_WAIT: Duration = Duration::from_secs(6);

/// The cluster page.
#[derive(Template)]
#[template(path = "cluster.html")]
pub struct ClusterPage {
    chrome: Chrome,
    status: Option<ClusterStatus>,
    contexts: Vec<String>,
    chosen: Option<String>,
    default_context: Option<String>,
    kubeconfig: String,
    contexts_error: Option<String>,
}

impl SizedPage for ClusterPage {}

async fn fresh(state: &AppState, context: &str) -> Option<ClusterStatus> {
    let refresh = state.statuses.refresh(&state.clusters, context);
    tokio::time::timeout(FRESH_WAIT, refresh).await.ok()
}

/// `GET /cluster`.
pub async fn show(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    let me = state.store.snapshot(&learner).await?;
    let context = context_for(&state, &me);
    let status = match &context {
        Ok(context) => fresh(&state, context).await,
        Err(_) => None,
    };
    let mut chrome = Chrome::of(&state, &me);
    if status.is_some() {
        chrome.cluster = status.clone();
    }
    let (contexts, contexts_error) = match state.clusters.contexts() {
        Ok(list) => (list, None),
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    Ok(Page(ClusterPage {
        chrome,
        status,
        contexts,
        chosen: context.ok(),
        default_context: state.clusters.default_context().ok(),
        kubeconfig: state.clusters.source().describe(),
        contexts_error,
    })
    .into_response())
}

/// The context form.
#[derive(Debug, Deserialize)]
pub struct ContextForm {
    /// A context name; empty for the server default.
    pub context: String,
}

async fn choose(
    state: &AppState,
    learner: &crate::store::LearnerId,
    context: &str,
) -> AppResult<()> {
    let context = context.trim();
    if context.is_empty() {
        state.store.set_learner_context(learner, None).await?;
        return Ok(());
    }
    let known = state
        .clusters
        .contexts()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    if !known.iter().any(|c| c == context) {
        return Err(AppError::BadRequest(format!(
            "`{context}` is not one of the contexts this server allows: {}",
            known.join(", ")
        )));
    }
    state
        .store
        .set_learner_context(learner, Some(context))
        .await?;
    Ok(())
}

/// `POST /cluster/context`.
pub async fn set_context(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    form: Result<Form<ContextForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) =
        form.map_err(|e| AppError::rejected(e.status(), format!("Bad form: {}", e.body_text())))?;
    choose(&state, &learner, &form.context).await?;
    Ok(Redirect::to("/cluster"))
}

/// `GET /api/v1/cluster` body.
#[derive(Serialize)]
pub struct ClusterBody {
    context: Option<String>,
    contexts: Vec<String>,
    status: Option<ClusterStatus>,
    problem: Option<String>,
}

/// `GET /api/v1/cluster`: the learner's context, the allowed ones, and a fresh status.
pub async fn api(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> Result<Json<ClusterBody>, ApiError> {
    let me = state.store.snapshot(&learner).await?;
    let (context, problem) = match context_for(&state, &me) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let status = match &context {
        Some(c) => fresh(&state, c).await,
        None => None,
    };
    Ok(Json(ClusterBody {
        context,
        contexts: state.clusters.contexts().unwrap_or_default(),
        status,
        problem,
    }))
}

/// `PUT /api/v1/cluster/context` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextBody {
    context: Option<String>,
}

/// `PUT /api/v1/cluster/context`: binds the learner to a context (null for the default).
pub async fn api_set_context(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    body: Result<Json<ContextBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ClusterBody>, ApiError> {
    let Json(body) = body.map_err(|e| AppError::rejected(e.status(), e.body_text()))?;
    choose(&state, &learner, body.context.as_deref().unwrap_or("")).await?;
    api(State(state), CurrentLearner(learner)).await
}

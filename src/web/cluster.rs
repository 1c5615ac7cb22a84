//! `/cluster`: the learner's cluster status, the contexts they may switch to, and how to
//! create the lesson cluster; plus its JSON twin.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::cluster::ClusterStatus;
use crate::store::LearnerId;
use crate::web::error::{ApiError, AppError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

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
    /// Lessons with a debugging checklist: (id, title).
    diagnose: Vec<(String, String)>,
}

impl SizedPage for ClusterPage {}

/// `GET /cluster`.
pub async fn show(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    let view = state.service.cluster(&learner).await?;
    let mut chrome = Chrome::load(&state, &learner).await?;
    if view.status.is_some() {
        chrome.cluster = view.status.clone();
    }
    let (contexts, contexts_error) = match view.contexts {
        Ok(list) => (list, None),
        Err(err) => (Vec::new(), Some(err)),
    };
    Ok(Page(ClusterPage {
        chrome,
        status: view.status,
        contexts,
        chosen: view.context.ok(),
        default_context: view.default_context,
        kubeconfig: view.kubeconfig,
        contexts_error,
        diagnose: state
            .service
            .catalogue()
            .lessons
            .iter()
            .filter(|l| !l.diagnose.is_empty())
            .map(|l| (l.id.clone(), l.title.clone()))
            .collect(),
    })
    .into_response())
}

/// The context form.
#[derive(Debug, Deserialize)]
pub struct ContextForm {
    /// A context name; empty for the server default.
    pub context: String,
}

/// `POST /cluster/context`.
pub async fn set_context(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    form: Result<Form<ContextForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) = form.map_err(AppError::from_form)?;
    state
        .service
        .choose_context(&learner, &form.context)
        .await?;
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

async fn body(state: &AppState, learner: &LearnerId) -> Result<Json<ClusterBody>, ApiError> {
    let view = state.service.cluster(learner).await?;
    let (context, problem) = match view.context {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e)),
    };
    Ok(Json(ClusterBody {
        context,
        contexts: view.contexts.unwrap_or_default(),
        status: view.status,
        problem,
    }))
}

/// `GET /api/v1/cluster`: the learner's context, the allowed ones, and a fresh status.
pub async fn api(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> Result<Json<ClusterBody>, ApiError> {
    body(&state, &learner).await
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
    payload: Result<Json<ContextBody>, JsonRejection>,
) -> Result<Json<ClusterBody>, ApiError> {
    let Json(request) = payload.map_err(AppError::from_json)?;
    state
        .service
        .choose_context(&learner, request.context.as_deref().unwrap_or(""))
        .await?;
    body(&state, &learner).await
}

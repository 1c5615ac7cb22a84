//! The diagnosis page: the lesson's checklist walked on the learner's cluster, each step shown
//! as it finishes (Server-Sent Events), or all at once without JavaScript; and its JSON API.

use std::convert::Infallible;

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;

use crate::checks::diagnose::StepResult;
use crate::content::model::DiagnoseStep;
use crate::service::diagnose::Diagnosis;
use crate::web::error::{ApiError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

/// `?run=1`: walk the checklist now and show the whole result (the page without JavaScript).
#[derive(Debug, Default, Deserialize)]
pub struct RunQuery {
    #[serde(default)]
    run: Option<u8>,
}

/// `/lessons/{lesson}/diagnose`.
#[derive(Template)]
#[template(path = "diagnose.html")]
pub struct DiagnosePage<'a> {
    chrome: Chrome,
    lesson_id: &'a str,
    lesson_title: &'a str,
    steps: &'a [DiagnoseStep],
    /// The result, when run on the server (no JavaScript).
    result: Option<Diagnosis>,
}

impl SizedPage for DiagnosePage<'_> {}

impl DiagnosePage<'_> {
    /// The result of one step, when there is one.
    fn result_of(&self, id: &str) -> Option<&StepResult> {
        self.result.as_ref()?.steps.iter().find(|s| s.id == id)
    }

    /// Whether `id` is the first broken step of the result.
    fn first_broken(&self, id: &str) -> bool {
        self.result.as_ref().and_then(|r| r.first_broken.as_deref()) == Some(id)
    }
}

/// `GET /lessons/{lesson}/diagnose`.
pub async fn page(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    Path(lesson): Path<String>,
    Query(query): Query<RunQuery>,
) -> AppResult<Response> {
    let found = state.service.lesson(&lesson)?;
    let result = match query.run {
        Some(_) => Some(
            state
                .service
                .diagnose(&learner, &lesson, &mut |_| {})
                .await?,
        ),
        None => None,
    };
    Ok(Page(DiagnosePage {
        chrome: Chrome::load(&state, &learner).await?,
        lesson_id: &found.id,
        lesson_title: &found.title,
        steps: &found.diagnose,
        result,
    })
    .into_response())
}

/// `GET /lessons/{lesson}/diagnose/stream`: one `step` event per step as it finishes, then
/// `done` with the whole diagnosis.
pub async fn stream(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    Path(lesson): Path<String>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    state.service.lesson(&lesson)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(32);
    let service = state.service.clone();
    tokio::spawn(async move {
        let steps = tx.clone();
        let mut emit = move |step: &StepResult| {
            if let Ok(json) = serde_json::to_string(step) {
                let _ = steps.try_send(Event::default().event("step").data(json));
            }
        };
        let done = match service.diagnose(&learner, &lesson, &mut emit).await {
            Ok(diagnosis) => Event::default()
                .event("done")
                .data(serde_json::to_string(&diagnosis).unwrap_or_default()),
            Err(err) => Event::default().event("problem").data(err.to_string()),
        };
        let _ = tx.send(done).await;
    });
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `GET /api/v1/lessons/{lesson}/diagnose`: the whole diagnosis as JSON.
pub async fn api(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    Path(lesson): Path<String>,
) -> Result<Json<Diagnosis>, ApiError> {
    Ok(Json(
        state
            .service
            .diagnose(&learner, &lesson, &mut |_| {})
            .await?,
    ))
}

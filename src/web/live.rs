//! `GET /tasks/{task}/live`: Server-Sent Events carrying the rendered verdict fragment each
//! time the live checks hand out a changed verdict.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::mpsc;

use crate::clock::{Precision, utc};
use crate::service::{ClassEvent, LiveChecks};
use crate::web::error::AppResult;
use crate::web::identity::CurrentLearner;
use crate::web::state::AppState;
use crate::web::task::VerdictView;

/// Keep-alive comments, so proxies and browsers keep the stream open: well inside the common
/// 60 s idle timeout of reverse proxies, and rare enough to cost nothing measurable.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// The verdict fragment the task page swaps in.
#[derive(Template)]
#[template(path = "partials/verdict.html")]
pub struct VerdictFragment {
    last: Option<VerdictView>,
}

/// Stops a helper task when the stream it feeds ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends the learner's workshop messages, and hints opened for the task on the page, on
/// their stream until it closes.
async fn forward_messages(
    state: AppState,
    (workshop, task): (i64, String),
    learner: String,
    events: mpsc::Sender<Event>,
) {
    let mut class = state.service.class_events();
    let stopped = state.stopped();
    tokio::pin!(stopped);
    loop {
        let event = tokio::select! {
            event = class.recv() => event,
            () = events.closed() => return,
            () = &mut stopped => return,
        };
        let out = match event {
            Ok(ClassEvent::Hint {
                workshop: w,
                task: t,
                revealed,
            }) if w == workshop && t == task => {
                Some(Event::default().event("hint").data(revealed.to_string()))
            }
            Ok(event) => message_for(event, Some(workshop), &learner)
                .map(|text| Event::default().event("message").data(text)),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => None,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if let Some(out) = out
            && events.send(out).await.is_err()
        {
            return;
        }
    }
}

/// A workshop message for this learner, if the class event is one.
fn message_for(event: ClassEvent, workshop: Option<i64>, learner: &str) -> Option<String> {
    match event {
        ClassEvent::Message {
            workshop: w,
            learner: to,
            text,
        } if Some(w) == workshop && to.as_deref().is_none_or(|t| t == learner) => Some(text),
        _ => None,
    }
}

async fn forward(
    state: AppState,
    learner: crate::store::LearnerId,
    task: String,
    mut live: LiveChecks,
    events: mpsc::Sender<Event>,
) {
    // Workshop messages go out on the same stream from a task of their own: a select on both
    // here would cancel a re-check in flight whenever anyone's verdict is published.
    let _messages = match state.service.workshop_of(&learner).await {
        Ok(Some(workshop)) => Some(AbortOnDrop(tokio::spawn(forward_messages(
            state.clone(),
            (workshop, task),
            learner.as_str().to_string(),
            events.clone(),
        )))),
        _ => None,
    };
    let stopped = state.stopped();
    tokio::pin!(stopped);
    loop {
        let verdict = tokio::select! {
            next = live.next() => next,
            () = events.closed() => return,
            // Shutdown ends the stream, so the server can exit; the page reconnects later.
            () = &mut stopped => return,
        };
        let event = match verdict {
            Ok(verdict) => {
                let fragment = VerdictFragment {
                    last: Some(VerdictView {
                        verdict,
                        at: utc(state.service.clock().now(), Precision::Second),
                        stale: false,
                    }),
                };
                Event::default()
                    .event("verdict")
                    .data(fragment.render().unwrap_or_default())
            }
            Err(err) => {
                let err = crate::web::error::AppError::from(err);
                tracing::warn!(error = %err, "live re-check failed");
                let _ = events
                    .send(Event::default().event("problem").data(err.public_message()))
                    .await;
                return;
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// `GET /tasks/{task}/live`.
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let live = state.service.live(&learner, &id).await?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(forward(state, learner, id, live, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

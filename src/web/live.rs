//! `GET /tasks/{task}/live`: Server-Sent Events that re-check the task whenever the
//! resources it reads change (shared kube-rs watchers, debounced), and again while a
//! criterion is still converging. Each event carries the rendered verdict fragment.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::mpsc;

use crate::checks::plan;
use crate::cluster::{Subscription, WatchKind};
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::LearnerId;
use crate::web::check::{context_for, find_task, run};
use crate::web::identity::CurrentLearner;
use crate::web::task::VerdictView;

/// Changes closer together than this are checked once.
pub const DEBOUNCE: Duration = Duration::from_millis(400);
/// While a criterion is pending, re-check this often even without changes (time passes).
pub const PENDING_RECHECK: Duration = Duration::from_secs(5);
/// Keep-alive comments, so proxies and browsers keep the stream open: well inside the common
/// 60 s idle timeout of reverse proxies, and rare enough to cost nothing measurable.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// The verdict fragment the task page swaps in.
#[derive(Template)]
#[template(path = "partials/verdict.html")]
pub struct VerdictFragment {
    last: Option<VerdictView>,
}

async fn next_change(subscriptions: &mut [Subscription]) {
    if subscriptions.is_empty() {
        std::future::pending::<()>().await;
    }
    let waits = subscriptions.iter_mut().map(|s| Box::pin(s.changes.recv()));
    let _ = futures_util::future::select_all(waits).await;
}

fn drain(subscriptions: &mut [Subscription]) {
    for s in subscriptions.iter_mut() {
        while s.changes.try_recv().is_ok() {}
    }
}

async fn live_loop(
    state: AppState,
    learner: LearnerId,
    task_id: String,
    events: mpsc::Sender<Event>,
) {
    let Some(task) = state.catalogue.task(&task_id) else {
        return;
    };
    let mut subscriptions = Vec::new();
    if let Ok(me) = state.store.snapshot(&learner).await
        && let Ok(context) = context_for(&state, &me)
        && let Ok(conn) = state.clusters.connect_for_watch(&context).await
    {
        let needs = plan::needs(&task.checks);
        for kind in WatchKind::for_needs(&needs) {
            subscriptions.push(state.watches.subscribe(&conn, kind));
        }
    }
    let mut last_sent = String::new();
    loop {
        let verdict = match run(&state, &learner, task).await {
            Ok(verdict) => verdict,
            Err(err) => {
                tracing::warn!(error = %err, "live re-check failed");
                let _ = events
                    .send(Event::default().event("problem").data(err.public_message()))
                    .await;
                return;
            }
        };
        let pending = verdict.pending();
        let at = k8s_openapi::jiff::Timestamp::now()
            .strftime("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        let fragment = VerdictFragment {
            last: Some(VerdictView {
                verdict,
                at,
                stale: false,
            }),
        };
        let html = fragment.render().unwrap_or_default();
        // Only the criteria matter for "changed": the time stamp always differs.
        let key: String = html.lines().filter(|l| !l.contains("checked ")).collect();
        if key != last_sent {
            if events
                .send(Event::default().event("verdict").data(html))
                .await
                .is_err()
            {
                return;
            }
            last_sent = key;
        }
        tokio::select! {
            () = next_change(&mut subscriptions) => {
                tokio::time::sleep(DEBOUNCE).await;
                drain(&mut subscriptions);
            }
            () = tokio::time::sleep(PENDING_RECHECK), if pending => {}
            () = events.closed() => return,
        }
    }
}

/// `GET /tasks/{task}/live`.
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let task_id = find_task(&state, &id)?.id.clone();
    crate::web::exams::closed_by_exam(&state, &learner, &task_id).await?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(live_loop(state, learner, task_id, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

//! The browser terminal's http side: one-time tickets, the WebSocket (checked before the
//! upgrade: ticket, Origin, Host), the relay between its frames and the service's terminal
//! channels with pings, and the `/terminal` page.
//!
//! Frames: the browser sends keystrokes as binary frames and `{"resize": [cols, rows]}` as
//! text; it receives the shell's output as binary frames and `{"status"}`, `{"ready"}`,
//! `{"watching"}` and `{"closed"}` as text.

use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::service::{MAX_INPUT_BYTES, Redeemed, TerminalInput, TerminalOutput, TicketError};
use crate::web::error::{ApiError, AppError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::instructor::Instructor;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// How often an open terminal is pinged (keeps proxies from closing a quiet one).
const PING_EVERY: Duration = Duration::from_secs(20);

/// `POST /api/v1/terminal/ticket` body: the running exam attempt the terminal belongs to.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    #[serde(default)]
    attempt: Option<i64>,
}

/// A ticket and where to use it.
#[derive(Debug, Serialize)]
pub struct TicketReply {
    ticket: String,
    url: String,
}

/// `POST /api/v1/terminal/ticket`: a one-time ticket for the learner's own terminal.
pub async fn ticket(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    body: axum::body::Bytes,
) -> ApiResult<Json<TicketReply>> {
    // No body is the learner's own terminal outside an exam.
    let body: TicketBody = if body.iter().all(u8::is_ascii_whitespace) {
        TicketBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AppError::BadRequest(format!(
                "a ticket request is `{{\"attempt\": ID}}` or empty: {e}"
            ))
        })?
    };
    let ticket = state
        .service
        .terminal_ticket(&learner, body.attempt)
        .await?;
    Ok(Json(TicketReply {
        url: format!("/terminal/ws?ticket={ticket}"),
        ticket,
    }))
}

/// `POST /api/v1/workshops/{id}/learners/{row}/terminal/ticket` (instructor): a ticket to watch
/// one learner's terminal, read-only.
pub async fn watch_ticket(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row)): Path<(i64, String)>,
) -> ApiResult<Json<TicketReply>> {
    let ticket = state.service.watch_ticket(id, &row).await?;
    Ok(Json(TicketReply {
        url: format!("/instructor/terminal/ws?ticket={ticket}"),
        ticket,
    }))
}

/// The ticket in the WebSocket's URL.
#[derive(Debug, Deserialize)]
pub struct TicketQuery {
    #[serde(default)]
    ticket: String,
}

/// Checks what must hold before an upgrade: a same-origin page, and the ticket (once).
fn admit(
    state: &AppState,
    headers: &HeaderMap,
    ticket: &str,
    holder: Option<&crate::store::LearnerId>,
) -> Result<Redeemed, ApiError> {
    crate::web::security::websocket_origin(headers)
        .map_err(|why| ApiError(AppError::CrossSite(why)))?;
    state
        .service
        .redeem_terminal_ticket(ticket, holder)
        .map_err(|err| match err {
            TicketError::Invalid => ApiError(AppError::Unauthorized(err.to_string())),
            TicketError::NotYours => ApiError(AppError::CrossSite(err.to_string())),
        })
}

/// `GET /terminal/ws?ticket=T`: the learner's terminal.
pub async fn socket(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    headers: HeaderMap,
    Query(query): Query<TicketQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let redeemed = match admit(&state, &headers, &query.ticket, Some(&learner)) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    upgrade_to(state, redeemed, upgrade)
}

/// `GET /instructor/terminal/ws?ticket=T`: the instructor watching a learner's terminal.
pub async fn watch_socket(
    State(state): State<AppState>,
    _instructor: Instructor,
    headers: HeaderMap,
    Query(query): Query<TicketQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let redeemed = match admit(&state, &headers, &query.ticket, None) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    upgrade_to(state, redeemed, upgrade)
}

fn upgrade_to(
    state: AppState,
    redeemed: Redeemed,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_INPUT_BYTES)
            .on_upgrade(move |socket| relay(state, redeemed, socket))
            .into_response(),
        Err(rejection) => ApiError(AppError::BadRequest(format!(
            "the terminal speaks WebSocket only: {}",
            rejection.body_text()
        )))
        .into_response(),
    }
}

/// A control message from the browser.
#[derive(Debug, Deserialize)]
struct Control {
    resize: Option<(u16, u16)>,
}

fn text(value: serde_json::Value) -> Message {
    Message::Text(value.to_string().into())
}

/// Relays one terminal: frames to the service's input, its output to frames, pings, and a
/// clean close from either side (and when the server shuts down).
async fn relay(state: AppState, redeemed: Redeemed, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (input_tx, input_rx) = mpsc::channel::<TerminalInput>(64);
    let (output_tx, mut output_rx) = mpsc::channel::<TerminalOutput>(64);
    let service = state.service.clone();
    let session =
        tokio::spawn(async move { service.run_terminal(redeemed, input_rx, output_tx).await });
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            let input = match message {
                Message::Binary(bytes) => TerminalInput::Data(bytes.to_vec()),
                Message::Text(body) => match serde_json::from_str::<Control>(&body) {
                    Ok(Control {
                        resize: Some((cols, rows)),
                    }) if cols > 0 && rows > 0 => TerminalInput::Resize(cols, rows),
                    _ => continue,
                },
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            if input_tx.send(input).await.is_err() {
                break;
            }
        }
    });
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let stopped = state.stopped();
    tokio::pin!(stopped);
    let reason = loop {
        tokio::select! {
            out = output_rx.recv() => {
                let message = match out {
                    Some(TerminalOutput::Data(bytes)) => Message::Binary(bytes.into()),
                    Some(TerminalOutput::Status(step)) => text(serde_json::json!({"status": step})),
                    Some(TerminalOutput::Ready) => text(serde_json::json!({"ready": true})),
                    Some(TerminalOutput::Watching(n)) => text(serde_json::json!({"watching": n})),
                    Some(TerminalOutput::Closed(reason)) => break reason,
                    None => break "the terminal ended".to_string(),
                };
                if sink.send(message).await.is_err() {
                    break String::new();
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break String::new();
                }
            }
            () = &mut stopped => break "the kubelab server is shutting down".to_string(),
        }
    };
    if !reason.is_empty() {
        let _ = sink.send(text(serde_json::json!({"closed": reason}))).await;
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "".into(),
            })))
            .await;
    }
    reader.abort();
    session.abort();
}

/// `/terminal`: a full-page terminal into the learner's own cluster.
#[derive(Template)]
#[template(path = "terminal.html")]
pub struct TerminalPage {
    chrome: Chrome,
}

impl SizedPage for TerminalPage {}

/// `GET /terminal`.
pub async fn page(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    Ok(Page(TerminalPage {
        chrome: Chrome::load(&state, &learner).await?,
    })
    .into_response())
}

//! `pods/{name}/exec` over WebSocket, channel protocol v5/v4 (`v5.channel.k8s.io`,
//! `v4.channel.k8s.io`), as kube-rs and kubectl speak it: binary frames whose first byte is
//! the channel (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close in v5); the
//! status frame is a metav1 Status; then the server closes.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::ExecRule;
use crate::http::{Ctx, Target, error_response, pod_and_container};
use crate::images::{self, Missing};
use crate::status::ApiError;
use crate::util::Query;

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;

/// What one exec session will do once upgraded.
struct Plan {
    stdout: bool,
    stderr: bool,
    rule: Option<ExecRule>,
    drop_status: bool,
    /// Shown when no rule matches.
    unmatched: String,
}

fn success() -> Value {
    json!({"metadata": {}, "status": "Success"})
}

fn exit_status(code: i32, command: &[String]) -> Value {
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
            command.join(" ")
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

/// Handles an exec request: 404/400 as plain Status answers, otherwise a WebSocket upgrade.
pub(crate) async fn serve(
    ctx: &Ctx,
    t: &Target,
    name: &str,
    query: &Query,
    req: Request,
) -> Response {
    // An interactive terminal: the line-echo shell, whatever the command.
    if query.flag("tty") && query.flag("stdin") {
        return interactive(ctx, t, name, query, req).await;
    }
    let plan = {
        let inner = ctx.cluster.lock();
        let (pod, container) = match pod_and_container(&inner, t, name, query) {
            Ok(found) => found,
            Err(e) => return error_response(&e),
        };
        let command = query.all("command");
        if command.is_empty() {
            return error_response(&ApiError::bad_request(
                "you must specify at least one command for the container",
            ));
        }
        let ns = t.namespace.clone().unwrap_or_default();
        let mut rule = inner
            .exec_rules
            .iter()
            .rev()
            .find(|r| r.matches(&ns, name, container.as_deref(), &command))
            .cloned();
        // The image decides before any script: no rule can give nginx a ping.
        let missing = images::image_of(&pod, container.as_deref())
            .and_then(|image| images::refusal(&image, &command));
        match &missing {
            Some(Missing::Program(_)) => rule = None,
            Some(Missing::InShell { shell, program }) => {
                rule = Some(
                    ExecRule::new(&ns, name, command.clone())
                        .stderr(&Missing::shell_message(shell, program))
                        .exit_code(127),
                );
            }
            None => {}
        }
        // A scripted answer no cluster could give (a port nothing binds) is refused instead.
        if rule.is_some()
            && missing.is_none()
            && let Some(refused) =
                crate::sim::network::impossible_probe(&inner, &pod, container.as_deref(), &command)
        {
            rule = Some(refused);
        }
        // A simulated cluster runs what no rule scripts, as the image and the network would.
        if rule.is_none() && missing.is_none() {
            match crate::sim::network::exec(&inner, &pod, container.as_deref(), &command) {
                Some(Ok(answer)) => rule = Some(answer),
                Some(Err(message)) => return error_response(&ApiError::bad_request(&message)),
                None => {}
            }
        }
        let unmatched = match &missing {
            Some(Missing::Program(program)) => Missing::runtime_message(program),
            _ => format!(
                "fake-apiserver: no ExecRule matches command {} in pod {ns}/{name} (container {})",
                serde_json::to_string(&command).unwrap_or_default(),
                container
                    .as_deref()
                    .map_or_else(|| "not specified".to_string(), |c| format!("{c:?}"))
            ),
        };
        Plan {
            stdout: query.flag("stdout"),
            stderr: query.flag("stderr"),
            rule,
            drop_status: false,
            unmatched,
        }
    };
    let plan = Plan {
        drop_status: ctx.cluster.drop_exec(),
        ..plan
    };
    let (mut parts, _body) = req.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(_) => {
            return error_response(&ApiError::bad_request(
                "Upgrade request required: fake-apiserver only speaks exec over WebSocket (v5.channel.k8s.io / v4.channel.k8s.io)",
            ));
        }
    };
    let upgrade = upgrade.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]);
    if upgrade.selected_protocol().is_none() {
        return error_response(&ApiError::bad_request(
            "unable to upgrade connection: fake-apiserver supports only the v5.channel.k8s.io and v4.channel.k8s.io subprotocols",
        ));
    }
    let stop = ctx.stop.clone();
    upgrade
        .on_upgrade(move |socket| run(socket, plan, stop))
        .into_response()
}

/// Upgrades an interactive (`stdin` + `tty`) exec to the line-echo shell of [`crate::tty`].
async fn interactive(ctx: &Ctx, t: &Target, name: &str, query: &Query, req: Request) -> Response {
    {
        let inner = ctx.cluster.lock();
        if let Err(e) = pod_and_container(&inner, t, name, query) {
            return error_response(&e);
        }
    }
    if query.all("command").is_empty() {
        return error_response(&ApiError::bad_request(
            "you must specify at least one command for the container",
        ));
    }
    let (mut parts, _body) = req.into_parts();
    let Ok(upgrade) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await else {
        return error_response(&ApiError::bad_request(
            "Upgrade request required: fake-apiserver only speaks exec over WebSocket",
        ));
    };
    let upgrade = upgrade.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]);
    if upgrade.selected_protocol().is_none() {
        return error_response(&ApiError::bad_request(
            "unable to upgrade connection: fake-apiserver supports only the v5.channel.k8s.io and v4.channel.k8s.io subprotocols",
        ));
    }
    let session = crate::tty::Session {
        namespace: t.namespace.clone().unwrap_or_default(),
        pod: name.to_string(),
    };
    let cluster = ctx.cluster.clone();
    let stop = ctx.stop.clone();
    upgrade
        .on_upgrade(move |socket| crate::tty::run(socket, session, cluster, stop))
        .into_response()
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

async fn run(socket: WebSocket, plan: Plan, mut stop: watch::Receiver<bool>) {
    let (mut tx, mut rx) = socket.split();
    // Read (and ignore) what the client sends: stdin data, resize messages, and a v5
    // client's close signal (channel 255). Reading also answers pings.
    let (gone_tx, mut gone) = watch::channel(false);
    let reader = tokio::spawn(async move {
        while let Some(msg) = rx.next().await {
            match msg {
                Ok(Message::Close(_)) | Err(_) => break,
                _ => {}
            }
        }
        let _ = gone_tx.send(true);
    });

    let session = async {
        // The real server first sends an empty frame on the lowest writable channel.
        let first = if plan.stdout {
            STDOUT
        } else if plan.stderr {
            STDERR
        } else {
            STATUS
        };
        tx.send(frame(first, &[])).await.ok()?;
        let status = match &plan.rule {
            Some(rule) => {
                if let Some(delay) = rule.delay {
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = crate::util::raised(&mut gone) => return None,
                        _ = crate::util::raised(&mut stop) => return None,
                    }
                }
                if plan.stdout && !rule.stdout.is_empty() {
                    tx.send(frame(STDOUT, rule.stdout.as_bytes())).await.ok()?;
                }
                if plan.stderr && !rule.stderr.is_empty() {
                    tx.send(frame(STDERR, rule.stderr.as_bytes())).await.ok()?;
                }
                if rule.exit_code == 0 {
                    success()
                } else {
                    exit_status(rule.exit_code, &rule.command)
                }
            }
            None => json!({
                "metadata": {},
                "status": "Failure",
                "message": plan.unmatched,
                "reason": "InternalError",
                "code": 500,
            }),
        };
        if !plan.drop_status {
            let bytes = serde_json::to_vec(&status).unwrap_or_default();
            tx.send(frame(STATUS, &bytes)).await.ok()?;
        }
        tx.send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await
        .ok()
    };
    let _ = session.await;
    // Give the client a moment to answer the close handshake.
    let _ = tokio::time::timeout(Duration::from_secs(2), crate::util::raised(&mut gone)).await;
    reader.abort();
}

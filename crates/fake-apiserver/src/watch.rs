//! Watch streams: newline-delimited `{"type":..,"object":..}` events over a chunked body.
//!
//! - `resourceVersion` unset or `"0"`: synthetic ADDED events for the current state, then
//!   live changes (as the real server does);
//! - `resourceVersion=N`: every change after N (replayed from the history), then live; an N
//!   older than the history answers with an `ERROR` event holding a 410 Expired Status;
//! - `sendInitialEvents=true`: the current state, then a BOOKMARK annotated
//!   `k8s.io/initial-events-end: "true"`, then live changes;
//! - `allowWatchBookmarks=true`: a BOOKMARK every [`BOOKMARK_EVERY`];
//! - `timeoutSeconds`: the stream ends after that long (default 30 minutes);
//! - label and field selectors filter like for lists; an object that stops (starts)
//!   matching is sent as DELETED (ADDED).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::http::{Ctx, Output, Target, error_response, selectors};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Change, ChangeType};
use crate::table::{partial_metadata, table};

/// How often a watch that allows bookmarks gets one (kube-apiserver's watch cache sends
/// them about once a minute).
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

struct Filter {
    api_version: String,
    kind: String,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    fn translate<'a>(&self, c: &'a Change) -> Option<(&'static str, &'a Value)> {
        if c.key.api_version != self.api_version || c.key.kind != self.kind {
            return None;
        }
        if let Some(ns) = &self.namespace
            && c.key.namespace != *ns
        {
            return None;
        }
        let old_match = c.old.as_ref().is_some_and(|o| self.matches(o));
        let new_match = self.matches(&c.new);
        let ty = match c.ty {
            ChangeType::Added => new_match.then_some("ADDED"),
            ChangeType::Modified => match (old_match, new_match) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            },
            ChangeType::Deleted => old_match.then_some("DELETED"),
        }?;
        Some((ty, &c.new))
    }
}

struct Renderer {
    output: Output,
    kind: String,
    api_version: String,
    columns_sent: bool,
}

impl Renderer {
    fn event(&mut self, ty: &str, object: &Value) -> Bytes {
        let rendered = match self.output {
            Output::Json => object.clone(),
            Output::Metadata => partial_metadata(object),
            Output::Table(include) => {
                let rv = object
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(json!(""));
                let first = !self.columns_sent;
                self.columns_sent = true;
                table(
                    &self.kind,
                    std::slice::from_ref(object),
                    json!({"resourceVersion": rv}),
                    include,
                    first,
                )
            }
        };
        line(&json!({"type": ty, "object": rendered}))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end && let Some(m) = meta.as_object_mut() {
            m.insert(
                "annotations".into(),
                json!({"k8s.io/initial-events-end": "true"}),
            );
        }
        line(&json!({
            "type": "BOOKMARK",
            "object": {"kind": self.kind, "apiVersion": self.api_version, "metadata": meta},
        }))
    }
}

fn line(value: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn expired(from: u64, floor: u64) -> Bytes {
    let status = ApiError::new(410, format!("too old resource version: {from} ({floor})"));
    line(&json!({"type": "ERROR", "object": status.to_json()}))
}

/// Answers a `?watch=true` request with an event stream.
pub(crate) fn serve(ctx: &Ctx, t: Target, query: &crate::util::Query, output: Output) -> Response {
    let (labels, fields) = match selectors(&t.rt, query) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let bookmarks = query.flag("allowWatchBookmarks");
    let send_initial = query.flag("sendInitialEvents");
    let rv_param = query.get("resourceVersion").unwrap_or("").to_string();
    let filter = Filter {
        api_version: t.rt.api_version(),
        kind: t.rt.kind.clone(),
        namespace: t.namespace.clone(),
        labels,
        fields,
    };
    let mut renderer = Renderer {
        output,
        kind: t.rt.kind.clone(),
        api_version: t.rt.api_version(),
        columns_sent: false,
    };

    let mut initial = Vec::new();
    let (mut changes, start_rv, ok) = {
        let inner = ctx.cluster.lock();
        // Subscribing under the lock: every change after this snapshot reaches `changes`.
        let changes = inner.changes.subscribe();
        let current = inner.rv;
        let from = rv_param.parse::<u64>().unwrap_or(0);
        if rv_param.is_empty() || rv_param == "0" || send_initial {
            for (_, o) in inner
                .objects_of(
                    &filter.api_version,
                    &filter.kind,
                    filter.namespace.as_deref(),
                )
                .filter(|(_, o)| filter.matches(o))
            {
                initial.push(renderer.event("ADDED", o));
            }
            if send_initial {
                initial.push(renderer.bookmark(current, true));
            }
            (changes, current, true)
        } else if from < inner.history_floor {
            initial.push(expired(from, inner.history_floor));
            (changes, current, false)
        } else {
            for c in inner.history.iter().filter(|c| c.rv > from) {
                if let Some((ty, o)) = filter.translate(c) {
                    initial.push(renderer.event(ty, o));
                }
            }
            (changes, current, true)
        }
    };

    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let mut stop = ctx.stop.clone();
    tokio::spawn(async move {
        for l in initial {
            if tx.send(l).await.is_err() {
                return;
            }
        }
        if !ok {
            return;
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        let mut last_rv = start_rv;
        loop {
            let out = tokio::select! {
                _ = &mut deadline => break,
                _ = crate::util::raised(&mut stop) => break,
                _ = tx.closed() => break,
                _ = ticker.tick(), if bookmarks => renderer.bookmark(last_rv, false),
                msg = changes.recv() => match msg {
                    Ok(change) => {
                        if change.rv <= last_rv {
                            continue;
                        }
                        last_rv = change.rv;
                        match filter.translate(&change) {
                            Some((ty, o)) => renderer.event(ty, o),
                            None => continue,
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(expired(last_rv, last_rv)).await;
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            };
            if tx.send(out).await.is_err() {
                break;
            }
        }
    });

    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

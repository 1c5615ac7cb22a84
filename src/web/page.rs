//! Renders askama templates into responses, so no handler unwraps a render.

use std::sync::Arc;

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;

use crate::cluster::ClusterStatus;
use crate::service::LearnerProgress;
use crate::store::{LearnerId, LearnerSnapshot};
use crate::web::error::{AppError, AppResult};
use crate::web::negotiate::{accepts_br, accepts_gzip, still_fresh};
use crate::web::state::AppState;
use crate::web::stitch::{self, Part};

/// A page to render; render failures become the error page.
pub struct Page<T>(pub T);

/// Templates that know roughly how large they render, so the buffer is allocated once
/// instead of doubling through a large lesson.
pub trait SizedPage {
    /// Bytes to reserve before rendering.
    fn capacity(&self) -> usize {
        16 * 1024
    }
}

impl<T: Template + SizedPage> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let mut html = String::with_capacity(self.0.capacity());
        match self.0.render_into(&mut html) {
            Ok(()) => Html(html).into_response(),
            Err(err) => AppError::Render(err).into_response(),
        }
    }
}

/// What the header of every page shows about the learner and their cluster.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The learner's display name, if set.
    pub learner_name: Option<String>,
    /// The context the learner's checks use, if one can be determined.
    pub context: Option<String>,
    /// Its last known status (None while the first probe runs).
    pub cluster: Option<ClusterStatus>,
    /// The cluster a workshop gave the learner, if any.
    pub workshop_cluster: Option<String>,
    /// That cluster while kubelab makes it, or after making it failed.
    pub cluster_progress: Option<crate::service::ClusterProgress>,
    /// The latest messages from the learner's workshop instructor.
    pub messages: Vec<String>,
    /// The versioned URL of the content's highlight stylesheet (none: not linked).
    pub highlight_css: Arc<str>,
}

impl Chrome {
    /// The header data: the learner's name and the cached status of their cluster. Never
    /// waits for the cluster: a stale status is refreshed in the background.
    pub fn of(state: &AppState, snapshot: &LearnerSnapshot) -> Chrome {
        let badge = state.service.badge(snapshot);
        Chrome {
            learner_name: snapshot.display_name.clone(),
            context: badge.context,
            cluster: badge.status,
            workshop_cluster: badge.workshop_cluster,
            cluster_progress: badge.progress,
            messages: snapshot.messages.clone(),
            highlight_css: state.highlight_css().url().into(),
        }
    }

    /// The header data for pages that are nobody's (instructor pages): only the links.
    pub fn anonymous(state: &AppState) -> Chrome {
        Chrome {
            highlight_css: state.highlight_css().url().into(),
            ..Chrome::default()
        }
    }

    /// The header data for a learner, read from the store (or its cache).
    pub async fn load(state: &AppState, learner: &LearnerId) -> AppResult<Chrome> {
        let me = state.service.learner(learner).await?;
        Ok(Chrome::of(state, &me))
    }

    /// The learner's progress in every lesson with the header data, for the pages built on it.
    pub async fn with_progress(
        state: &AppState,
        learner: &LearnerId,
    ) -> AppResult<(Chrome, LearnerProgress)> {
        let progress = state.service.progress(learner).await?;
        Ok((Chrome::of(state, &progress.me), progress))
    }

    /// The header's cluster line.
    pub fn cluster_line(&self) -> String {
        match (&self.cluster_progress, &self.workshop_cluster) {
            (Some(p), _) if p.failed => return "your cluster could not be made".to_string(),
            (Some(_), _) => return "your cluster is starting…".to_string(),
            (None, Some(cluster)) => return format!("workshop cluster {cluster}"),
            (None, None) => {}
        }
        match (&self.cluster, &self.context) {
            (Some(status), _) => status.summary(),
            (None, Some(context)) => format!("{context}: checking…"),
            (None, None) => "no cluster configured".to_string(),
        }
    }

    /// The badge's tooltip: why the cluster cannot be used, or what the badge is.
    pub fn cluster_title(&self) -> String {
        if let Some(progress) = &self.cluster_progress {
            return progress.detail.clone();
        }
        match self.cluster.as_ref().and_then(|s| s.problem.clone()) {
            Some(problem) => problem,
            None => "Your cluster: status and how to switch or create one".to_string(),
        }
    }

    /// CSS state of the cluster badge: ok, down or unknown.
    pub fn cluster_state(&self) -> &'static str {
        match &self.cluster {
            Some(status)
                if status.reachable && status.nodes > 0 && status.ready_nodes == status.nodes =>
            {
                "ok"
            }
            Some(status) if status.reachable => "degraded",
            Some(_) => "down",
            None if self.cluster_progress.as_ref().is_some_and(|p| p.failed) => "down",
            None if self.workshop_cluster.is_some() => "unknown",
            None if self.context.is_none() => "down",
            None => "unknown",
        }
    }
}

/// Pages are the learner's own: a cache keeps them but asks each time whether they changed.
const REVALIDATE: HeaderValue = HeaderValue::from_static("private, no-cache");

/// A page stitched from shared and own parts, with a weak ETag built from `tag` (a hash of
/// everything that varies) and a 304 when the client's copy holds. Encoded by what the client
/// takes: brotli or whole-page gzip once [`crate::web::page_cache`] has made them for this
/// state, the stitched gzip until then (and the first sight of a state queues them).
pub fn stitched_page(
    state: &AppState,
    headers: &HeaderMap,
    parts: &[Part<'_>],
    tag: u64,
) -> Response {
    let cache = state.page_cache();
    let made = cache.get(tag);
    let (br, gzip) = (accepts_br(headers), accepts_gzip(headers));
    let coding = match (&made, br, gzip) {
        (Some(made), true, _) => Some(("br", made.br.clone())),
        (Some(made), false, true) => Some(("gzip", made.gzip.clone())),
        (None, _, true) => Some(("gzip", Bytes::new())),
        _ => None,
    };
    let etag = match coding {
        Some((name, _)) => format!("W/\"p{tag:016x}-{name}\""),
        None => format!("W/\"p{tag:016x}\""),
    };
    if made.is_none() && (br || gzip) && cache.claim(tag) {
        let page = stitch::identity(parts);
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.page_cache().fill(tag, &page));
    }
    let mut response = if still_fresh(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = match coding {
            Some((_, ref body)) if !body.is_empty() => body.clone().into_response(),
            Some(_) => stitch::gzip(parts).into_response(),
            None => stitch::identity(parts).into_response(),
        };
        let out = response.headers_mut();
        out.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Some((name, _)) = coding {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static(name));
        }
        response
    };
    let out = response.headers_mut();
    out.insert(CACHE_CONTROL, REVALIDATE);
    out.insert(VARY, HeaderValue::from_static("cookie, accept-encoding"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(ETAG, value);
    }
    response
}

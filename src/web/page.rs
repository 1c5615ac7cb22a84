//! Renders askama templates into responses, so no handler unwraps a render.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use crate::cluster::ClusterStatus;
use crate::service::LearnerProgress;
use crate::store::{LearnerId, LearnerSnapshot};
use crate::web::error::{AppError, AppResult};
use crate::web::state::AppState;

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

//! The learner's cluster as pages show it: the header badge, the cluster page, and the
//! choice of context.

use std::time::Duration;

use crate::cluster::ClusterStatus;
use crate::store::{LearnerId, LearnerSnapshot};

use super::{Service, ServiceError, ServiceResult};

/// How long the cluster page and its API wait for a fresh status before showing the cached one.
const FRESH_WAIT: Duration = Duration::from_secs(6);

/// A workshop cluster kubelab is still making, or could not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterProgress {
    /// True when making it failed (the learner may try again).
    pub failed: bool,
    /// The step and time so far, or why it failed.
    pub detail: String,
}

/// What the header shows about the learner's cluster.
#[derive(Debug, Clone, Default)]
pub struct Badge {
    /// The cluster a workshop gave the learner (their checks use it, not a context).
    pub workshop_cluster: Option<String>,
    /// That cluster while it is being made or after making it failed.
    pub progress: Option<ClusterProgress>,
    /// The context the learner's checks use, if one can be determined.
    pub context: Option<String>,
    /// Its last known status (None while the first probe runs).
    pub status: Option<ClusterStatus>,
}

/// The learner's cluster with a fresh status, and what they may switch to.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// The context their checks use, or why there is none.
    pub context: Result<String, String>,
    /// A fresh status (None when there is no context or it did not come in time).
    pub status: Option<ClusterStatus>,
    /// The contexts they may choose, or why they cannot be listed.
    pub contexts: Result<Vec<String>, String>,
    /// The server's default context.
    pub default_context: Option<String>,
    /// The kubeconfig files, for messages.
    pub kubeconfig: String,
}

impl Service {
    /// The header's view of the learner's cluster; never waits (a stale status is refreshed
    /// in the background).
    pub fn badge(&self, me: &LearnerSnapshot) -> Badge {
        if let Some(cluster) = &me.workshop_cluster {
            use crate::store::EnvState;
            let progress = me.workshop_env.as_ref().and_then(|env| match env.state {
                EnvState::Ready => None,
                EnvState::Provisioning => Some(ClusterProgress {
                    failed: false,
                    detail: format!(
                        "{} ({} so far)",
                        env.step,
                        super::workshops::elapsed(self.now() - env.started_at)
                    ),
                }),
                EnvState::Failed => Some(ClusterProgress {
                    failed: true,
                    detail: env.error.clone().unwrap_or_default(),
                }),
                EnvState::Deleting => Some(ClusterProgress {
                    failed: false,
                    detail: "being replaced by a new one".into(),
                }),
            });
            return Badge {
                workshop_cluster: Some(cluster.clone()),
                progress,
                context: None,
                status: None,
            };
        }
        let context = self.context_of(me).ok();
        let status = context.as_deref().and_then(|c| self.cached_status(c));
        Badge {
            workshop_cluster: None,
            progress: None,
            context,
            status,
        }
    }

    /// The cached status of a context, refreshed in the background when stale.
    pub fn cached_status(&self, context: &str) -> Option<ClusterStatus> {
        self.0.statuses.peek(&self.0.clusters, context)
    }

    /// The contexts a learner may choose (empty when the kubeconfig cannot be read).
    pub fn contexts(&self) -> Vec<String> {
        self.0.clusters.contexts().unwrap_or_default()
    }

    /// The learner's cluster with a fresh status (waiting a few seconds at most).
    pub async fn cluster(&self, learner: &LearnerId) -> ServiceResult<ClusterView> {
        let me = self.learner(learner).await?;
        let context = self.context_of(&me).map_err(|e| e.to_string());
        let status = match &context {
            Ok(context) => {
                let refresh = self.0.statuses.refresh(&self.0.clusters, context);
                tokio::time::timeout(FRESH_WAIT, refresh).await.ok()
            }
            Err(_) => None,
        };
        Ok(ClusterView {
            context,
            status,
            contexts: self.0.clusters.contexts().map_err(|e| e.to_string()),
            default_context: self.0.clusters.default_context().ok(),
            kubeconfig: self.0.clusters.source().describe(),
        })
    }

    /// Binds the learner to one of the allowed contexts; an empty name goes back to the default.
    pub async fn choose_context(&self, learner: &LearnerId, context: &str) -> ServiceResult<()> {
        self.refuse_for_members(learner, "choosing another cluster")
            .await?;
        let context = context.trim();
        let now = self.now();
        if context.is_empty() {
            self.0.store.set_learner_context(learner, None, now).await?;
            return Ok(());
        }
        let known = self
            .0
            .clusters
            .contexts()
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        if !known.iter().any(|c| c == context) {
            return Err(ServiceError::Invalid(format!(
                "`{context}` is not one of the contexts this server allows: {}",
                known.join(", ")
            )));
        }
        self.0
            .store
            .set_learner_context(learner, Some(context), now)
            .await?;
        Ok(())
    }
}

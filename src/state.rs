//! Shared application state, handed to every handler.

use std::collections::HashSet;
use std::sync::Arc;

use crate::cluster::{Clusters, StatusCache, WatchHub};
use crate::content::Catalogue;
use crate::setup::SetupOptions;
use crate::store::Store;

/// Cheap to clone: one `Arc` around everything handlers share.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// What handlers share.
pub struct App {
    /// The validated content.
    pub catalogue: Catalogue,
    /// The progress database.
    pub store: Store,
    /// Host names (without port) this server answers for.
    pub allowed_hosts: AllowedHosts,
    /// The kubeconfig contexts learners' checks run against.
    pub clusters: Arc<Clusters>,
    /// The latest status of each context, for the header of every page.
    pub statuses: Arc<StatusCache>,
    /// Shared watchers behind live re-checks.
    pub watches: WatchHub,
    /// Where setup steps find what the content does not carry.
    pub setup: SetupOptions,
    /// Exam attempts being prepared by this process.
    pub preparations: crate::proctor::Preparations,
}

impl AppState {
    /// Builds the state from loaded content, an open store and the hosts to answer for.
    pub fn new(
        catalogue: Catalogue,
        store: Store,
        allowed_hosts: AllowedHosts,
        clusters: Clusters,
    ) -> AppState {
        AppState(Arc::new(App {
            catalogue,
            store,
            allowed_hosts,
            clusters: Arc::new(clusters),
            statuses: Arc::new(StatusCache::default()),
            watches: WatchHub::default(),
            setup: SetupOptions::from_env(),
            preparations: Default::default(),
        }))
    }
}

impl App {
    /// The context a learner's work runs on: their choice while still allowed, else the default.
    pub fn learner_context(
        &self,
        me: &crate::store::LearnerSnapshot,
    ) -> Result<String, crate::cluster::ClusterError> {
        match &me.context {
            Some(context) if self.clusters.allows(context) => Ok(context.clone()),
            _ => self.clusters.default_context(),
        }
    }
}

/// The host names a request's `Host` header may carry, compared without the port.
#[derive(Debug, Clone)]
pub struct AllowedHosts(HashSet<String>);

impl AllowedHosts {
    /// Loopback names plus `extra` (from `--allow-host`), lowercased.
    pub fn loopback_and<I: IntoIterator<Item = String>>(extra: I) -> AllowedHosts {
        let mut names: HashSet<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(str::to_string)
            .collect();
        names.extend(extra.into_iter().map(|h| {
            let h = h.trim().to_ascii_lowercase();
            host_name(&h).to_string()
        }));
        AllowedHosts(names)
    }

    /// Whether a `Host` header value (with or without port) is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = host_header.trim().to_ascii_lowercase();
        self.0.contains(host_name(&host))
    }
}

/// The name part of `host[:port]` or `[v6]:port`.
pub fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => {
            name
        }
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_matching_ignores_port_and_case() {
        let hosts = AllowedHosts::loopback_and(["Workshop.Example:8080".to_string()]);
        assert!(hosts.allows("localhost:8080"));
        assert!(hosts.allows("127.0.0.1"));
        assert!(hosts.allows("[::1]:8080"));
        assert!(hosts.allows("workshop.example"));
        assert!(!hosts.allows("evil.example:8080"));
        assert!(!hosts.allows("localhost.evil.example"));
        assert!(!hosts.allows(""));
    }
}

//! The cluster layer: the only code that talks to Kubernetes (kube-rs). It connects to a
//! learner's context, observes what checks need into a plain snapshot, and runs commands.

pub mod apply;
mod clusters;
pub mod diagnose;
pub mod download;
pub mod environments;
mod error;
pub mod exec;
mod kubeconfig;
mod observe;
pub mod status;
pub mod toolbox;
mod watch;

use std::time::Duration;

pub use clusters::{AllowedContexts, Clusters};
pub use error::ClusterError;
pub use kubeconfig::KubeconfigSource;
pub use observe::observe;
pub use status::{ClusterStatus, PodNetwork, StatusCache, pod_network};
pub use watch::{Subscription, WatchHub, WatchKind};

/// Longest a single API call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a whole check may take, observation and commands included.
pub const CHECK_BUDGET: Duration = Duration::from_secs(15);

/// A client bound to one context.
#[derive(Clone)]
pub struct Connection {
    /// The kube-rs client.
    pub client: kube::Client,
    /// The context name.
    pub context: String,
    /// The API server URL, for messages.
    pub server: String,
}

impl Connection {
    /// Connects to `context` of the kubeconfig files in `source`.
    pub async fn open(
        source: &KubeconfigSource,
        context: &str,
    ) -> Result<Connection, ClusterError> {
        install_crypto_provider();
        let (client, server) = source.client(context, CALL_TIMEOUT).await?;
        Ok(Connection {
            client,
            context: context.to_string(),
            server,
        })
    }

    /// Connects for long-lived watches: no short read timeout (watch requests last minutes).
    pub async fn open_for_watch(
        source: &KubeconfigSource,
        context: &str,
    ) -> Result<Connection, ClusterError> {
        install_crypto_provider();
        let (client, server) = source.client(context, Duration::from_secs(330)).await?;
        Ok(Connection {
            client,
            context: context.to_string(),
            server,
        })
    }

    /// Connects for an interactive terminal: its stream may stay quiet for as long as the
    /// learner thinks (kubelab closes idle terminals itself).
    pub async fn open_for_terminal(
        source: &KubeconfigSource,
        context: &str,
    ) -> Result<Connection, ClusterError> {
        install_crypto_provider();
        let (client, server) = source
            .client(context, Duration::from_secs(24 * 3600))
            .await?;
        Ok(Connection {
            client,
            context: context.to_string(),
            server,
        })
    }

    /// Runs one API call with the per-call timeout, mapping errors.
    pub async fn call<T>(
        &self,
        future: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ClusterError> {
        match tokio::time::timeout(CALL_TIMEOUT, future).await {
            Ok(result) => result.map_err(|e| ClusterError::from_kube(e, &self.server)),
            Err(_) => Err(ClusterError::Timeout(CALL_TIMEOUT.as_secs())),
        }
    }
}

/// Picks rustls's ring provider for the process. kube-rs builds TLS from the process default,
/// and when another crate in the build enables aws-lc-rs too, rustls cannot choose by itself.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

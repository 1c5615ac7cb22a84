//! Cluster-level failures, phrased so a learner knows what to do.

/// Why the cluster could not be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClusterError {
    /// No kubeconfig file where one was expected.
    #[error(
        "no kubeconfig at {path}: create the lesson cluster with `kubelab cluster create`, or pass --kubeconfig"
    )]
    NoKubeconfig {
        /// The path looked at.
        path: String,
    },
    /// The kubeconfig could not be read or parsed.
    #[error("the kubeconfig at {path} cannot be used: {reason}")]
    BadKubeconfig {
        /// The file.
        path: String,
        /// Parser or loader message.
        reason: String,
    },
    /// The context is not in the kubeconfig.
    #[error("the kubeconfig has no context `{0}`: list them with `kubectl config get-contexts`")]
    NoContext(String),
    /// The context exists but the server does not allow it.
    #[error("the context `{0}` is not allowed on this kubelab server (see --allow-context)")]
    ContextNotAllowed(String),
    /// Nothing answered at the API server's address.
    #[error(
        "the API server at {server} is unreachable: {reason}. Is the cluster running? `kind get clusters`, `docker ps`"
    )]
    Unreachable {
        /// The server URL.
        server: String,
        /// Connection error.
        reason: String,
    },
    /// The API server did not answer in time.
    #[error("the API server did not answer within {0} s")]
    Timeout(u64),
    /// 401: the credentials were refused.
    #[error("the API server refused the credentials (401 Unauthorized): {0}")]
    Unauthorized(String),
    /// 403: the user may not do this.
    #[error("forbidden (403): {0}")]
    Forbidden(String),
    /// Any other API error status.
    #[error("the API server answered {code}: {message}")]
    Api {
        /// HTTP status.
        code: u16,
        /// Its message.
        message: String,
    },
    /// A protocol-level failure (bad response, dropped stream).
    #[error("{0}")]
    Protocol(String),
}

impl ClusterError {
    /// Maps a kube-rs error; `server` names the endpoint for connection errors.
    pub fn from_kube(err: kube::Error, server: &str) -> ClusterError {
        match err {
            kube::Error::Api(status) => match status.code {
                401 => ClusterError::Unauthorized(status.message),
                403 => ClusterError::Forbidden(status.message),
                code => ClusterError::Api {
                    code,
                    message: status.message,
                },
            },
            kube::Error::HyperError(e) => ClusterError::Unreachable {
                server: server.to_string(),
                reason: root_cause(&e),
            },
            kube::Error::Service(e) => {
                let text = root_cause(e.as_ref());
                if text.contains("elapsed") || text.contains("timed out") {
                    ClusterError::Timeout(super::CALL_TIMEOUT.as_secs())
                } else {
                    ClusterError::Unreachable {
                        server: server.to_string(),
                        reason: text,
                    }
                }
            }
            other => ClusterError::Protocol(other.to_string()),
        }
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

//! Downloads a pinned manifest over HTTPS (following release redirects), so a fault can be
//! undone by re-installing exactly the version the lesson pins.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::ClusterError;

/// Largest manifest accepted.
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Redirects followed (GitHub release assets redirect once or twice).
const MAX_REDIRECTS: usize = 5;

/// GETs `url` and returns the body as text.
pub async fn fetch_text(url: &str) -> Result<String, ClusterError> {
    super::install_crypto_provider();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| {
            ClusterError::Protocol(format!("no TLS root certificates on this machine: {e}"))
        })?
        .https_only()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let uri: hyper::Uri = current
            .parse()
            .map_err(|e| ClusterError::Protocol(format!("bad URL {current}: {e}")))?;
        let response = tokio::time::timeout(Duration::from_secs(30), client.get(uri))
            .await
            .map_err(|_| ClusterError::Protocol(format!("downloading {current} timed out")))?
            .map_err(|e| ClusterError::Protocol(format!("cannot download {current}: {e}")))?;
        let status = response.status();
        if status.is_redirection() {
            current = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    ClusterError::Protocol(format!("{current} redirects without a Location"))
                })?
                .to_string();
            continue;
        }
        if !status.is_success() {
            return Err(ClusterError::Protocol(format!(
                "downloading {current} answered {status}"
            )));
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_BYTES)
            .collect()
            .await
            .map_err(|e| ClusterError::Protocol(format!("reading {current}: {e}")))?
            .to_bytes();
        return String::from_utf8(body.to_vec())
            .map_err(|_| ClusterError::Protocol(format!("{current} is not text")));
    }
    Err(ClusterError::Protocol(format!(
        "{url} redirects more than {MAX_REDIRECTS} times"
    )))
}

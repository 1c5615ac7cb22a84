//! `/static/…`: the CSS, scripts and icons compiled into the binary and the content's
//! highlight stylesheet, served from memory. Pages link them with a version in the URL
//! (`?v=` and the first bytes of the file's SHA-256), so a versioned request is cached for a
//! year and a new build changes the URL; text is gzip-compressed once, on first need.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use crate::web::compress;
use crate::web::error::{AppError, AppResult};
use crate::web::negotiate::{accepts_gzip, still_fresh};
use crate::web::state::AppState;

/// CSS, JS, icons and vendored libraries, compiled into the binary.
#[derive(RustEmbed)]
#[folder = "static/"]
struct Embedded;

/// The path the content's highlight stylesheet is served under.
pub const HIGHLIGHT_CSS: &str = "highlight.css";

const YEAR: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const SHORT: HeaderValue = HeaderValue::from_static("public, max-age=300");

/// One file under `/static`, with its version and (for text) its gzip form.
pub struct Asset {
    body: Bytes,
    content_type: &'static str,
    version: String,
    url: String,
    gzip: OnceLock<Option<Bytes>>,
}

impl Asset {
    /// An asset at `path` (relative to `/static/`) with these bytes.
    pub fn new(path: &str, body: Bytes) -> Asset {
        let digest = Sha256::digest(&body);
        Asset::with_digest(path, body, &digest)
    }

    fn with_digest(path: &str, body: Bytes, digest: &[u8]) -> Asset {
        let version: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Asset {
            url: format!("/static/{path}?v={version}"),
            content_type: content_type(path),
            version,
            body,
            gzip: OnceLock::new(),
        }
    }

    /// The URL pages link: the path with the version.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The gzip form, when the type is text and compressing saves something.
    fn gzip(&self) -> Option<&Bytes> {
        self.gzip
            .get_or_init(|| {
                if !compressible(self.content_type) {
                    return None;
                }
                let zipped = compress::gzip(&self.body, 9)?;
                (zipped.len() + 64 < self.body.len()).then_some(zipped)
            })
            .as_ref()
    }

    /// Makes the compressed form now, so no request waits for it.
    pub fn warm(&self) {
        let _ = self.gzip();
    }

    /// The response to a GET with these request headers; `query` is the URL's query string.
    pub fn respond(&self, headers: &HeaderMap, query: Option<&str>) -> Response {
        let versioned = query.is_some_and(|q| {
            q.split('&')
                .any(|pair| pair.strip_prefix("v=") == Some(self.version.as_str()))
        });
        let zipped = accepts_gzip(headers).then(|| self.gzip()).flatten();
        let etag = match zipped {
            Some(_) => format!("\"{}-gz\"", self.version),
            None => format!("\"{}\"", self.version),
        };
        let mut response = if still_fresh(headers, &etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let body = zipped.unwrap_or(&self.body).clone();
            let mut response = body.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
            if zipped.is_some() {
                response
                    .headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            response
        };
        let out = response.headers_mut();
        out.insert(CACHE_CONTROL, if versioned { YEAR } else { SHORT });
        if compressible(self.content_type) {
            out.insert(VARY, HeaderValue::from_static("accept-encoding"));
        }
        if let Ok(value) = HeaderValue::from_str(&etag) {
            out.insert(ETAG, value);
        }
        response
    }
}

/// The embedded files by path, built on first use (hashing only; compression waits).
fn embedded() -> &'static HashMap<String, Asset> {
    static TABLE: LazyLock<HashMap<String, Asset>> = LazyLock::new(|| {
        Embedded::iter()
            .filter_map(|path| {
                let file = Embedded::get(&path)?;
                let digest = file.metadata.sha256_hash();
                let body = Bytes::from(file.data.into_owned());
                let asset = Asset::with_digest(&path, body, &digest);
                Some((path.into_owned(), asset))
            })
            .collect()
    });
    &TABLE
}

/// The versioned URL of an embedded file, for templates; unknown paths stay unversioned.
pub fn url(path: &str) -> &str {
    match embedded().get(path) {
        Some(asset) => asset.url(),
        None => {
            tracing::warn!(path, "a template links a static file that is not embedded");
            "/static/missing"
        }
    }
}

/// Compresses every embedded file now (at start-up, off the request path).
pub fn warm() {
    for asset in embedded().values() {
        asset.warm();
    }
}

/// `GET /static/{*path}`: an embedded file or the highlight stylesheet.
pub async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> AppResult<Response> {
    let asset = if path == HIGHLIGHT_CSS {
        state.highlight_css()
    } else {
        embedded()
            .get(&path)
            .ok_or_else(|| AppError::NotFound(format!("There is no static file `{path}`.")))?
    };
    Ok(asset.respond(&headers, query.as_deref()))
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/") || content_type == "image/svg+xml"
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_linked_asset_is_embedded_and_versioned() {
        for path in [
            "css/kubelab.css",
            "js/kubelab.js",
            "js/theme.js",
            "favicon.svg",
        ] {
            let url = url(path);
            assert!(url.starts_with(&format!("/static/{path}?v=")), "{url}");
            assert_eq!(url.len(), format!("/static/{path}?v=").len() + 16);
        }
    }

    #[test]
    fn only_text_is_compressed() {
        let asset = Asset::new("favicon.png", Bytes::from_static(b"\x89PNG"));
        assert!(asset.gzip().is_none(), "images are not compressed");
        let text = Asset::new("a.css", Bytes::from(vec![b'a'; 4096]));
        assert!(text.gzip().is_some_and(|z| z.len() < 200));
    }
}

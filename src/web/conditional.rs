//! Revalidation and compression for what is rendered per request (every page and JSON answer
//! but the prebuilt lesson page): an ETag from the body's hash, a 304 when the client's copy
//! still matches, and gzip when the client takes it.

use std::hash::{Hash, Hasher};

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::web::compress;
use crate::web::negotiate::{accepts_gzip, still_fresh};

/// Bodies larger than this pass untouched (none of kubelab's pages comes close).
const MAX_BUFFERED: u64 = 4 * 1024 * 1024;

/// Below this, gzip's header and trailer eat what it saves.
const MIN_COMPRESSED: usize = 1024;

/// The middleware: only complete `200` answers to `GET`/`HEAD` in HTML or JSON that carry no
/// ETag or encoding of their own; streams (SSE, WebSockets) never qualify.
pub async fn revalidate(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    // Only the two headers the answer depends on are kept from the request.
    let mut asked = HeaderMap::new();
    for name in [IF_NONE_MATCH, ACCEPT_ENCODING] {
        for value in request.headers().get_all(&name) {
            asked.append(name.clone(), value.clone());
        }
    }
    let response = next.run(request).await;
    if !qualifies(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BUFFERED as usize).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!(error = %err, "a response body failed while being read");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let zip = accepts_gzip(&asked) && bytes.len() >= MIN_COMPRESSED;
    let mut hasher = std::hash::DefaultHasher::new();
    bytes.hash(&mut hasher);
    let etag = format!(
        "\"h{:016x}{}\"",
        hasher.finish(),
        if zip { "-gz" } else { "" }
    );
    let headers = &mut parts.headers;
    headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    headers.remove(CONTENT_LENGTH);
    if still_fresh(&asked, &etag) {
        parts.status = StatusCode::NOT_MODIFIED;
        return Response::from_parts(parts, Body::empty());
    }
    let body = match zip.then(|| compress::gzip(&bytes, 1)).flatten() {
        Some(zipped) => {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            zipped
        }
        None => bytes,
    };
    Response::from_parts(parts, Body::from(body))
}

fn qualifies(response: &Response) -> bool {
    let headers = response.headers();
    let textual = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/json"));
    response.status() == StatusCode::OK
        && textual
        && !headers.contains_key(ETAG)
        && !headers.contains_key(CONTENT_ENCODING)
        && response
            .body()
            .size_hint()
            .exact()
            .is_some_and(|len| len <= MAX_BUFFERED)
}

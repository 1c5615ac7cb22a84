//! Request guards: Host allow-list (DNS rebinding), cross-site checks on state changes,
//! and the security headers every response carries.

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::web::error::{ApiError, AppError};
use crate::web::state::AppState;

/// No inline scripts or styles, no eval, no framing, nothing loaded from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Headers added to every response.
pub fn headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ),
        (
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ),
    ]
}

/// Refuses requests whose Host is not served, and cross-site state changes.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let refuse = |err: AppError| {
        if api {
            ApiError(err).into_response()
        } else {
            err.into_response()
        }
    };
    // A body declared over the cap is refused at once, not after waiting for it to arrive.
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > super::MAX_BODY_BYTES as u64) {
        return refuse(AppError::TooLarge);
    }
    if request.headers().get_all(HOST).iter().count() > 1 {
        return refuse(AppError::BadRequest(
            "the request has more than one Host header".into(),
        ));
    }
    let host = request
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let Some(host) = host else {
        return refuse(AppError::BadRequest(
            "the request has no Host header".into(),
        ));
    };
    if !state.allowed_hosts.allows(&host) {
        return refuse(AppError::UnknownHost(host));
    }
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if let (false, Err(why)) = (reads, same_origin(&request, &host)) {
        return refuse(AppError::CrossSite(why));
    }
    next.run(request).await
}

/// A WebSocket upgrade must come from a page of this server: browsers always send `Origin`
/// with one, and it must name this host (no Origin at all is refused too).
pub fn websocket_origin(headers: &axum::http::HeaderMap) -> Result<(), String> {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or("the request has no Host header")?;
    if headers.get(ORIGIN).is_none() {
        return Err("a terminal connection must come from a kubelab page (no Origin)".into());
    }
    origin_matches(headers, host)
}

/// Browsers send Sec-Fetch-Site and/or Origin; scripts send neither and are accepted.
fn same_origin(request: &Request, host: &str) -> Result<(), String> {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(format!("Sec-Fetch-Site is `{other}`")),
        };
    }
    origin_matches(headers, host)
}

/// `Origin`, when present, names this host (https only behind a proxy that says so).
fn origin_matches(headers: &axum::http::HeaderMap, host: &str) -> Result<(), String> {
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        // kubelab speaks plain HTTP; behind a TLS proxy that says so, the page is https.
        let tls = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
        let scheme_ok = |scheme: &str| {
            scheme.eq_ignore_ascii_case("http") || (tls && scheme.eq_ignore_ascii_case("https"))
        };
        let same = origin.split_once("://").is_some_and(|(scheme, authority)| {
            scheme_ok(scheme) && authority.eq_ignore_ascii_case(host)
        });
        if !same {
            return Err(format!("Origin `{origin}` is not this server"));
        }
    }
    Ok(())
}

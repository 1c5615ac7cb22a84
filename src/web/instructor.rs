//! The instructor's sign-in: a secret given at start (`--instructor-token-file`, or a one-time
//! token printed as a sign-in link), exchanged for a session cookie whose hash the store keeps.
//! To anyone without a live session, instructor pages and API do not exist (404).

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::web::error::{ApiError, AppError};
use crate::web::state::AppState;

/// Name of the instructor session cookie.
pub const INSTRUCTOR_COOKIE: &str = "kubelab_instructor";

/// The instructor's secret and whether it still works.
#[derive(Debug, Default)]
pub struct InstructorGate {
    secret: Option<String>,
    one_time: bool,
    used: AtomicBool,
}

impl InstructorGate {
    /// No instructor: sign-in always fails.
    pub fn none() -> InstructorGate {
        InstructorGate::default()
    }

    /// A secret from a file: reusable while the server runs on it.
    pub fn reusable(secret: String) -> InstructorGate {
        InstructorGate {
            secret: Some(secret),
            one_time: false,
            used: AtomicBool::new(false),
        }
    }

    /// A secret that signs in once (the printed link).
    pub fn one_time(secret: String) -> InstructorGate {
        InstructorGate {
            secret: Some(secret),
            one_time: true,
            used: AtomicBool::new(false),
        }
    }

    /// Whether `offered` is the secret (compared in constant time), using it up if one-time.
    fn accepts(&self, offered: &str) -> bool {
        let Some(secret) = &self.secret else {
            return false;
        };
        if !constant_time_eq(secret.as_bytes(), offered.as_bytes()) {
            return false;
        }
        !self.one_time || !self.used.swap(true, Ordering::SeqCst)
    }
}

/// Equality whose time does not depend on where two secrets differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh random secret (hex).
pub fn random_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            pair.trim()
                .strip_prefix(INSTRUCTOR_COOKIE)?
                .strip_prefix('=')
        })
        .find(|v| !v.is_empty())
        .map(str::to_string)
}

/// The signed-in instructor (their session cookie); anyone else gets a 404.
#[derive(Debug, Clone)]
pub struct Instructor(String);

impl FromRequestParts<AppState> for Instructor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let api = parts.uri.path().starts_with("/api/");
        let hidden = || {
            let err = AppError::NotFound(format!("There is no page at `{}`.", parts.uri.path()));
            if api {
                ApiError(err).into_response()
            } else {
                err.into_response()
            }
        };
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(hidden());
        };
        match state.service.instructor_session(&cookie).await {
            Ok(true) => Ok(Instructor(cookie)),
            Ok(false) => Err(hidden()),
            Err(err) => Err(AppError::from(err).into_response()),
        }
    }
}

/// `?token=...`.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    token: String,
}

/// `GET /instructor/sign-in?token=T`: the right token opens a session; anything else is 404.
pub async fn sign_in(
    State(state): State<AppState>,
    query: Result<Query<SignIn>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(SignIn { token })) = query else {
        return AppError::NotFound("There is no page at `/instructor/sign-in`.".into())
            .into_response();
    };
    if !state.instructor().accepts(&token) {
        return AppError::NotFound("There is no page at `/instructor/sign-in`.".into())
            .into_response();
    }
    let session = match random_secret() {
        Ok(s) => s,
        Err(err) => return AppError::Internal(format!("no randomness: {err}")).into_response(),
    };
    if let Err(err) = state.service.open_instructor_session(&session).await {
        return AppError::from(err).into_response();
    }
    let mut response = Redirect::to("/instructor").into_response();
    let cookie = format!("{INSTRUCTOR_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// `POST /instructor/sign-out`: ends the session for good.
pub async fn sign_out(State(state): State<AppState>, Instructor(session): Instructor) -> Response {
    if let Err(err) = state.service.close_instructor_session(&session).await {
        return AppError::from(err).into_response();
    }
    let mut response = Redirect::to("/").into_response();
    let cookie = format!("{INSTRUCTOR_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_fully_and_one_time_ones_work_once() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        let gate = InstructorGate::one_time("s3cret".into());
        assert!(!gate.accepts("wrong"));
        assert!(gate.accepts("s3cret"));
        assert!(!gate.accepts("s3cret"), "used up");
        let file = InstructorGate::reusable("s3cret".into());
        assert!(file.accepts("s3cret") && file.accepts("s3cret"));
        assert!(!InstructorGate::none().accepts(""));
    }
}

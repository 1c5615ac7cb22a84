//! The learner cookie: a random id set on first visit, read on every request.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::store::LearnerId;
use crate::web::error::AppError;

/// Name of the learner cookie.
pub const COOKIE_NAME: &str = "kubelab_learner";

/// About a year: long enough for a course, renewed on every visit that sets it.
const MAX_AGE_SECONDS: u64 = 400 * 24 * 3600;

/// Reads the learner id from the cookie, or makes one and sets the cookie on the response.
/// No database row is written here: a learner is stored on their first write, so page
/// views by scripts and benchmarks do not fill the database.
pub async fn identify(mut request: Request, next: Next) -> Response {
    let existing = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='))
        .find_map(LearnerId::parse);
    let (id, fresh) = match existing {
        Some(id) => (id, false),
        None => match LearnerId::generate() {
            Ok(id) => (id, true),
            Err(err) => {
                return AppError::Internal(format!("no randomness for a learner id: {err}"))
                    .into_response();
            }
        },
    };
    request.extensions_mut().insert(id.clone());
    let mut response = next.run(request).await;
    if fresh {
        let cookie = format!(
            "{COOKIE_NAME}={}; Path=/; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax",
            id.as_str()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// The current learner, as identified by [`identify`].
#[derive(Debug, Clone)]
pub struct CurrentLearner(pub LearnerId);

impl<S: Send + Sync> FromRequestParts<S> for CurrentLearner {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<LearnerId>()
            .cloned()
            .map(CurrentLearner)
            .ok_or((
                StatusCode::INTERNAL_SERVER_ERROR,
                "learner identity middleware is missing on this route",
            ))
    }
}

/// Lets a write through only when the service admits its learner (new learners are bounded
/// server-wide); reads always pass and store nothing.
pub async fn admit(
    axum::extract::State(state): axum::extract::State<crate::web::state::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let learner = request.extensions().get::<LearnerId>().cloned();
    if let (true, Some(learner)) = (writes, learner)
        && let Err(err) = state.service.admit_writer(&learner).await
    {
        let err = AppError::from(err);
        let mut response = if request.uri().path().starts_with("/api/") {
            crate::web::error::ApiError(err).into_response()
        } else {
            err.into_response()
        };
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from_static("5"),
        );
        return response;
    }
    next.run(request).await
}

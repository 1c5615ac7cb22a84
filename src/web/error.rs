//! The one application error, rendered as an HTML page (or as JSON for the API).

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::service::ServiceError;
use crate::store::StoreError;

/// Result of a handler.
pub type AppResult<T> = Result<T, AppError>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// An unknown lesson, task, section, file or route.
    #[error("{0}")]
    NotFound(String),
    /// The request was malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the state of what it acts on (e.g. an exam that has ended).
    #[error("{0}")]
    Conflict(String),
    /// The request body is over the limit.
    #[error("the request body is too large")]
    TooLarge,
    /// The request came with a Host this server does not answer for (DNS rebinding guard).
    #[error(
        "this kubelab server does not answer for the host `{0}`; start it with `--allow-host {0}` to allow it"
    )]
    UnknownHost(String),
    /// A state-changing request came from another site.
    #[error("cross-site request refused: {0}")]
    CrossSite(String),
    /// A credential the request needs is missing or used (a terminal ticket).
    #[error("{0}")]
    Unauthorized(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed to render.
    #[error("a page failed to render: {0}")]
    Render(#[from] askama::Error),
    /// Too many requests of a kind; try again later.
    #[error("{0}")]
    TooMany(String),
    /// A bug, e.g. a caught panic.
    #[error("internal error: {0}")]
    Internal(String),
    /// A request the framework refused before any handler ran (a path parameter that is not
    /// UTF-8, a repeated query parameter, a method the route does not take), with its status.
    #[error("{message}")]
    Rejected {
        /// The status the framework chose.
        status: StatusCode,
        /// What it said, or the status's reason.
        message: String,
    },
}

impl AppError {
    /// Maps an extractor's rejection (bad JSON or form, or a body over the limit).
    pub fn rejected(status: StatusCode, text: String) -> AppError {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadRequest(text)
        }
    }

    /// Maps a form extractor's rejection.
    pub fn from_form(rejection: axum::extract::rejection::FormRejection) -> AppError {
        AppError::rejected(
            rejection.status(),
            format!("Bad form: {}", rejection.body_text()),
        )
    }

    /// Maps a JSON extractor's rejection.
    pub fn from_json(rejection: axum::extract::rejection::JsonRejection) -> AppError {
        AppError::rejected(rejection.status(), rejection.body_text())
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnknownHost(_) => StatusCode::MISDIRECTED_REQUEST,
            AppError::CrossSite(_) => StatusCode::FORBIDDEN,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Rejected { status, .. } => *status,
            AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Store(StoreError::Busy | StoreError::Unwritable { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Store(_) | AppError::Render(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// What the learner is told; internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Store(err @ (StoreError::Busy | StoreError::Unwritable { .. })) => {
                err.to_string()
            }
            AppError::Store(_) | AppError::Render(_) | AppError::Internal(_) => {
                "Something went wrong on the kubelab server. The details are in its log; what you saved before this request is kept.".to_string()
            }
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
    }
}

impl From<ServiceError> for AppError {
    /// The one place a use-case's refusal becomes an HTTP status.
    fn from(err: ServiceError) -> AppError {
        let message = err.to_string();
        match err {
            ServiceError::NotFound { .. }
            | ServiceError::NoSection { .. }
            | ServiceError::NotInExam(_) => AppError::NotFound(message),
            ServiceError::Invalid(_)
            | ServiceError::PracticeNotRunning(_)
            | ServiceError::Cluster(_) => AppError::BadRequest(message),
            ServiceError::TaskHeldByExam { .. }
            | ServiceError::ExamPlan(_)
            | ServiceError::ExamRefused { .. }
            | ServiceError::SetupNotRetryable(_)
            | ServiceError::ExamNotStarted
            | ServiceError::StillGrading
            | ServiceError::ExamNotGraded { .. }
            | ServiceError::RegradeBeforeGrading
            | ServiceError::RegradeAfterDeadline => AppError::Conflict(message),
            ServiceError::TooManyNewLearners | ServiceError::TooManyJoins => {
                AppError::TooMany(message)
            }
            ServiceError::Store(err) => AppError::Store(err),
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// HTTP status code.
    pub status: u16,
    /// Reason phrase, e.g. "Not Found".
    pub title: String,
    /// What happened, for the learner.
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            message: self.public_message(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(err) => {
                tracing::error!(error = %err, "the error page itself failed to render");
                (status, page.message).into_response()
            }
        }
    }
}

/// An [`AppError`] rendered as JSON, for `/api/` routes.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

#[derive(Serialize)]
struct ApiErrorBody {
    error: ApiErrorDetail,
}

#[derive(Serialize)]
struct ApiErrorDetail {
    status: u16,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let body = ApiErrorBody {
            error: ApiErrorDetail {
                status: status.as_u16(),
                message: self.0.public_message(),
            },
        };
        (status, Json(body)).into_response()
    }
}

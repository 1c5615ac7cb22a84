//! The HTTP layer: routes, guards and pages. Handlers stay thin; logic lives elsewhere.

mod api;
mod assets;
mod catalogue;
mod check;
mod cluster;
mod compress;
mod conditional;
mod diagnose;
pub mod error;
mod exam_api;
mod exams;
mod files;
mod health;
pub mod identity;
pub mod instructor;
mod learner;
mod lesson;
pub mod listen;
mod live;
mod negotiate;
mod page;
mod page_cache;
mod practice;
pub mod security;
mod server;
mod setup;
mod state;
mod stitch;
mod task;
mod terminal;
mod workshops;

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use server::serve;
pub use state::{AllowedHosts, AppState};

use error::{ApiError, AppError};

/// Largest request body accepted; every form and JSON body kubelab takes is tiny.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The whole application as a router.
pub fn app(state: AppState) -> Router {
    let learner_routes = Router::new()
        .route("/", get(catalogue::show))
        .route("/lessons/{lesson}", get(lesson::show))
        .route(
            "/lessons/{lesson}/sections/{section}/done",
            post(lesson::mark),
        )
        .route("/tasks/{task}", get(task::show))
        .route("/tasks/{task}/check", post(check::form))
        .route("/tasks/{task}/live", get(live::stream))
        .route("/tasks/{task}/practice/start", post(practice::start_form))
        .route("/tasks/{task}/practice/finish", post(practice::finish_form))
        .route(
            "/api/v1/tasks/{task}/practice",
            get(practice::api_get).post(practice::api_start),
        )
        .route(
            "/api/v1/tasks/{task}/practice/finish",
            post(practice::api_finish),
        )
        .route(
            "/tasks/{task}/setup",
            get(setup::confirm_setup).post(setup::run_setup),
        )
        .route(
            "/tasks/{task}/reset",
            get(setup::confirm_reset).post(setup::run_reset),
        )
        .route("/api/v1/tasks/{task}/setup", post(setup::api_setup))
        .route("/api/v1/tasks/{task}/reset", post(setup::api_reset))
        .route("/api/v1/tasks/{task}/check", post(check::api))
        .route("/exams/{exam}", get(exams::start_page))
        .route("/exams/{exam}/start", post(exams::start_form))
        .route("/exams/attempts/{id}", get(exams::view))
        .route("/exams/attempts/{id}/report", get(exams::report))
        .route("/exams/attempts/{id}/submit", post(exams::submit_form))
        .route(
            "/exams/attempts/{id}/tasks/{task}/flag",
            post(exams::flag_form),
        )
        .route(
            "/exams/attempts/{id}/tasks/{task}/setup",
            post(exams::setup_form),
        )
        .route("/api/v1/exams/{exam}/attempts", post(exam_api::start))
        .route("/api/v1/exam-attempts/{id}", get(exam_api::get))
        .route("/api/v1/exam-attempts/{id}/submit", post(exam_api::submit))
        .route(
            "/api/v1/exam-attempts/{id}/regrade",
            post(exam_api::regrade),
        )
        .route("/api/v1/exam-attempts/{id}/report", get(exam_api::report))
        .route(
            "/api/v1/exam-attempts/{id}/tasks/{task}/flag",
            axum::routing::put(exam_api::put_flag),
        )
        .route(
            "/api/v1/exam-attempts/{id}/tasks/{task}/setup",
            post(exam_api::retry_setup),
        )
        .route("/me", get(learner::show))
        .route("/lessons/{lesson}/diagnose", get(diagnose::page))
        .route("/lessons/{lesson}/diagnose/stream", get(diagnose::stream))
        .route("/api/v1/lessons/{lesson}/diagnose", get(diagnose::api))
        .route("/terminal", get(terminal::page))
        .route("/terminal/ws", get(terminal::socket))
        .route("/api/v1/terminal/ticket", post(terminal::ticket))
        .route("/join/{code}", get(workshops::join_page))
        .route("/join", post(workshops::join_form))
        .route("/api/v1/join", post(workshops::join_api))
        .route("/api/v1/workshop/leave", post(workshops::leave_api))
        .route("/api/v1/workshop", get(workshops::mine_api))
        .route(
            "/api/v1/workshop/cluster/retry",
            post(workshops::retry_cluster_api),
        )
        .route(
            "/workshop/cluster/retry",
            post(workshops::retry_cluster_form),
        )
        .route("/cluster", get(cluster::show))
        .route("/cluster/context", post(cluster::set_context))
        .route("/api/v1/cluster", get(cluster::api))
        .route(
            "/api/v1/cluster/context",
            axum::routing::put(cluster::api_set_context),
        )
        .route("/me/name", post(learner::set_name))
        .route("/api/v1/lessons", get(api::lessons))
        .route("/api/v1/progress", get(api::progress))
        .route("/api/v1/progress/export", get(api::export))
        .route(
            "/api/v1/lessons/{lesson}/sections/{section}/complete",
            post(api::complete_section).delete(api::uncomplete_section),
        )
        .route(
            "/api/v1/learner",
            get(api::learner).put(api::update_learner),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            identity::admit,
        ))
        .layer(middleware::from_fn(identity::identify));

    let routes = Router::new()
        .merge(learner_routes)
        .route("/lessons/{lesson}/files/{name}", get(files::lesson_file))
        .route("/lessons/{lesson}/download", get(lesson::download))
        .route("/static/{*path}", get(assets::serve))
        .route("/healthz", get(health::check))
        .route("/instructor", get(workshops::home))
        .route("/instructor/sign-in", get(instructor::sign_in))
        .route("/instructor/sign-out", post(instructor::sign_out))
        .route("/instructor/workshops", post(workshops::create_form))
        .route("/instructor/workshops/{id}", get(workshops::roster_page))
        .route("/instructor/workshops/{id}/live", get(workshops::live))
        .route("/instructor/workshops/{id}/qr.svg", get(workshops::join_qr))
        .route(
            "/instructor/workshops/{id}/learners/{row}",
            get(workshops::member_page),
        )
        .route(
            "/api/v1/workshops/{id}/learners/{row}",
            axum::routing::delete(workshops::remove_member_api),
        )
        .route(
            "/api/v1/workshops/{id}/learners/{row}/terminal/ticket",
            post(terminal::watch_ticket),
        )
        .route("/instructor/terminal/ws", get(terminal::watch_socket))
        .route(
            "/api/v1/workshops/{id}/learners/{row}/recreate",
            post(workshops::recreate_cluster_api),
        )
        .route(
            "/instructor/workshops/{id}/learners/{row}/recreate",
            post(workshops::recreate_cluster_form),
        )
        .route(
            "/api/v1/workshops/{id}/learners/{row}/exams/{exam}/grant",
            post(workshops::grant_attempt_api),
        )
        .route(
            "/instructor/workshops/{id}/learners/{row}/exams/{exam}/grant",
            post(workshops::grant_attempt_form),
        )
        .route(
            "/instructor/workshops/{id}/messages",
            post(workshops::message_form),
        )
        .route(
            "/instructor/workshops/{id}/exams",
            post(workshops::start_class_exam_form),
        )
        .route(
            "/instructor/workshops/{id}/tasks/{task}/hints",
            post(workshops::reveal_hint_form),
        )
        .route(
            "/api/v1/workshops/{id}/messages",
            post(workshops::message_api),
        )
        .route(
            "/api/v1/workshops/{id}/exams",
            post(workshops::start_class_exam),
        )
        .route(
            "/api/v1/workshops/{id}/learners/{row}/extend",
            post(workshops::extend_exam),
        )
        .route(
            "/api/v1/workshops/{id}/tasks/{task}/hints",
            post(workshops::reveal_hint),
        )
        .route(
            "/api/v1/workshops/{id}/exams/{exam}",
            get(workshops::class_exam_results),
        )
        .route(
            "/api/v1/workshops/{id}/exams/{exam}/start",
            post(workshops::start_class_clock),
        )
        .route(
            "/instructor/workshops/{id}/exams/{exam}/start",
            post(workshops::start_class_clock_form),
        )
        .route(
            "/instructor/workshops/{id}/learners/{row}/tasks/{task}/reset",
            post(workshops::reset_member_task_form),
        )
        .route(
            "/instructor/workshops/{id}/delete",
            post(workshops::delete_form),
        )
        .route(
            "/api/v1/workshops",
            get(workshops::list_api).post(workshops::create_api),
        )
        .route(
            "/api/v1/workshops/{id}",
            get(workshops::roster_api).delete(workshops::delete_api),
        )
        .route(
            "/api/v1/workshops/{id}/learners/{row}/tasks/{task}/reset",
            post(workshops::reset_member_task),
        )
        .fallback(not_found);
    harden(routes, state)
}

/// Wraps routes in the guards every kubelab response goes through: Host and cross-site
/// checks, the body limit, security headers, panic recovery, and ETags with gzip.
pub fn harden(routes: Router<AppState>, state: AppState) -> Router {
    let mut router = routes
        .layer(middleware::from_fn(conditional::revalidate))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(uniform_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ));
    for (name, value) in security::headers() {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

/// Errors the framework answers by itself (extractor rejections as text/plain, an empty 405)
/// in kubelab's one format: JSON under `/api/`, the error page elsewhere.
async fn uniform_errors(request: axum::extract::Request, next: middleware::Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let ours = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || ours {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        match status {
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".to_string(),
            other => other.canonical_reason().unwrap_or("error").to_string(),
        }
    } else {
        text
    };
    let err = AppError::Rejected { status, message };
    let mut out = if api {
        ApiError(err).into_response()
    } else {
        err.into_response()
    };
    // Keep what the framework said about the request (e.g. `allow` on a 405).
    if let Some(allow) = parts.headers.get(axum::http::header::ALLOW) {
        out.headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    out
}

async fn not_found(uri: Uri) -> Response {
    let err = AppError::NotFound(format!("There is no page at `{}`.", uri.path()));
    if uri.path().starts_with("/api/") {
        ApiError(err).into_response()
    } else {
        err.into_response()
    }
}

/// A panic in a handler becomes a logged 500 page, never a dropped connection.
fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string());
    let mut response = AppError::Internal(format!("panic: {detail}")).into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    for (name, value) in security::headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

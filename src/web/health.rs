//! `/healthz`: 200 when the database answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::web::state::AppState;

/// `GET /healthz`.
pub async fn check(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.service.healthy().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": err.to_string()})),
            )
        }
    }
}

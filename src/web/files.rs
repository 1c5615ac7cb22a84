//! Raw lesson files, served as text.

use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::web::error::{AppError, AppResult};
use crate::web::state::AppState;

/// `GET /lessons/{lesson}/files/{name}`: the file as text, never rendered as HTML.
/// Names are looked up in the lesson's in-memory file map, so no path ever reaches the disk.
pub async fn lesson_file(
    State(state): State<AppState>,
    Path((lesson_id, name)): Path<(String, String)>,
) -> AppResult<Response> {
    let lesson = state.service.lesson(&lesson_id)?;
    let bytes = lesson
        .files
        .get(&name)
        .ok_or_else(|| AppError::NotFound(format!("Lesson `{lesson_id}` has no file `{name}`.")))?;
    let disposition = format!("inline; filename=\"{}\"", name.replace('"', ""));
    let mut response = (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        bytes.clone(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

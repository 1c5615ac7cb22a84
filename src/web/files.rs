//! Raw lesson files, the embedded static assets and the generated highlight stylesheet.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::web::error::{AppError, AppResult};
use crate::web::state::AppState;

/// CSS, JS, icons and vendored libraries, compiled into the binary.
#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

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

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /static/{*path}`: embedded assets with an ETag, revalidated after five minutes.
pub async fn asset(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    if path == "highlight.css" {
        return Ok((
            [
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/css; charset=utf-8"),
                ),
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
            ],
            state.service.catalogue().highlight_css.clone(),
        )
            .into_response());
    }
    let file = Assets::get(&path)
        .ok_or_else(|| AppError::NotFound(format!("There is no static file `{path}`.")))?;
    let hash: String = file.metadata.sha256_hash()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let etag = format!("\"{hash}\"");
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(CONTENT_TYPE, HeaderValue::from_static(content_type(&path)))],
            file.data.into_owned(),
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    Ok(response)
}

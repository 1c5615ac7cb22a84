//! The JSON API under `/api/v1`, for scripts and tests; same cookie identity as the pages.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_DISPOSITION;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::service::progress::LessonProgress;
use crate::store::LearnerId;
use crate::web::error::{ApiError, AppError};
use crate::web::identity::CurrentLearner;
use crate::web::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// `GET /api/v1/lessons` body.
#[derive(Serialize)]
pub struct LessonsBody {
    lessons: Vec<LessonEntry>,
}

#[derive(Serialize)]
struct LessonEntry {
    id: String,
    title: String,
    summary: String,
    url: String,
    sections: Vec<SectionEntry>,
    tasks: Vec<TaskEntry>,
}

#[derive(Serialize)]
struct SectionEntry {
    id: String,
    title: String,
    url: String,
}

#[derive(Serialize)]
struct TaskEntry {
    id: String,
    title: String,
    minutes: u32,
    max_score: u32,
    url: String,
}

/// `GET /api/v1/lessons`.
pub async fn lessons(State(state): State<AppState>) -> Json<LessonsBody> {
    let catalogue = state.service.catalogue();
    let lessons = catalogue
        .lessons
        .iter()
        .map(|lesson| LessonEntry {
            id: lesson.id.clone(),
            title: lesson.title.clone(),
            summary: lesson.summary.clone(),
            url: format!("/lessons/{}", lesson.id),
            sections: lesson
                .sections
                .iter()
                .map(|s| SectionEntry {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    url: format!("/lessons/{}#{}", lesson.id, s.id),
                })
                .collect(),
            tasks: catalogue
                .lesson_tasks(lesson)
                .map(|t| TaskEntry {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    minutes: t.minutes,
                    max_score: t.max_points(),
                    url: format!("/tasks/{}", t.id),
                })
                .collect(),
        })
        .collect();
    Json(LessonsBody { lessons })
}

/// `GET /api/v1/progress` body.
#[derive(Serialize)]
pub struct ProgressBody {
    display_name: Option<String>,
    lessons: Vec<LessonProgress>,
}

async fn progress_body(state: &AppState, learner: &LearnerId) -> ApiResult<ProgressBody> {
    let progress = state.service.progress(learner).await?;
    Ok(ProgressBody {
        display_name: progress.me.display_name.clone(),
        lessons: progress.lessons,
    })
}

/// `GET /api/v1/progress`.
pub async fn progress(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<Json<ProgressBody>> {
    Ok(Json(progress_body(&state, &learner).await?))
}

/// The export file: the progress plus when and against which content it was taken.
#[derive(Serialize)]
struct Export {
    format: &'static str,
    exported_at: i64,
    content_digest: String,
    #[serde(flatten)]
    progress: ProgressBody,
}

/// `GET /api/v1/progress/export`: a downloadable JSON file.
pub async fn export(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<Response> {
    let body = Export {
        format: "kubelab-progress/1",
        exported_at: state.service.clock().now(),
        content_digest: state.service.catalogue().digest.clone(),
        progress: progress_body(&state, &learner).await?,
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"kubelab-progress.json\""),
    );
    Ok(response)
}

/// The answer to marking a section.
#[derive(Serialize)]
pub struct SectionState {
    lesson: String,
    section: String,
    done: bool,
}

async fn set_section(
    state: &AppState,
    learner: &LearnerId,
    lesson_id: &str,
    section_id: &str,
    done: bool,
) -> ApiResult<Json<SectionState>> {
    let (lesson, section) = state
        .service
        .mark_section(learner, lesson_id, section_id, done)
        .await?;
    Ok(Json(SectionState {
        lesson,
        section,
        done,
    }))
}

/// `POST /api/v1/lessons/{lesson}/sections/{section}/complete`.
pub async fn complete_section(
    State(state): State<AppState>,
    Path((lesson_id, section_id)): Path<(String, String)>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<Json<SectionState>> {
    set_section(&state, &learner, &lesson_id, &section_id, true).await
}

/// `DELETE /api/v1/lessons/{lesson}/sections/{section}/complete`: undo.
pub async fn uncomplete_section(
    State(state): State<AppState>,
    Path((lesson_id, section_id)): Path<(String, String)>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<Json<SectionState>> {
    set_section(&state, &learner, &lesson_id, &section_id, false).await
}

/// `PUT /api/v1/learner` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerUpdate {
    display_name: Option<String>,
}

/// The learner as the API shows them.
#[derive(Serialize)]
pub struct LearnerBody {
    display_name: Option<String>,
}

/// `GET /api/v1/learner`.
pub async fn learner(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<Json<LearnerBody>> {
    let me = state.service.learner(&learner).await?;
    Ok(Json(LearnerBody {
        display_name: me.display_name.clone(),
    }))
}

/// `PUT /api/v1/learner`: sets or clears the display name.
pub async fn update_learner(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    body: Result<Json<LearnerUpdate>, JsonRejection>,
) -> ApiResult<Json<LearnerBody>> {
    let Json(body) = body.map_err(AppError::from_json)?;
    let name = state
        .service
        .set_name(&learner, body.display_name.as_deref().unwrap_or(""))
        .await?;
    Ok(Json(LearnerBody { display_name: name }))
}

//! `/me`: the learner's name, their progress, and the export link.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::content::Catalogue;
use crate::service::LearnerProgress;
use crate::web::error::{AppError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

/// A task's line on the learner page.
pub struct TaskLine {
    /// Task title.
    pub title: String,
    /// Best score, if checked.
    pub best: Option<i64>,
    /// Points available.
    pub max: u32,
}

/// A lesson's line on the learner page.
pub struct LessonLine {
    /// Lesson id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Sections done.
    pub done: usize,
    /// Sections in all.
    pub total: usize,
    /// Per task.
    pub tasks: Vec<TaskLine>,
}

/// The learner page.
#[derive(Template)]
#[template(path = "learner.html")]
pub struct LearnerPage {
    chrome: Chrome,
    name: String,
    lessons: Vec<LessonLine>,
}

impl SizedPage for LearnerPage {}

/// `GET /me`.
pub async fn show(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    let (chrome, progress) = Chrome::with_progress(&state, &learner).await?;
    let lessons = lesson_lines(state.service.catalogue(), &progress);
    Ok(Page(LearnerPage {
        name: chrome.learner_name.clone().unwrap_or_default(),
        chrome,
        lessons,
    })
    .into_response())
}

/// One line per lesson with the learner's progress in it.
fn lesson_lines(catalogue: &Catalogue, progress: &LearnerProgress) -> Vec<LessonLine> {
    progress
        .lessons
        .iter()
        .filter_map(|p| {
            let lesson = catalogue.lesson(&p.id)?;
            Some(LessonLine {
                id: p.id.clone(),
                title: lesson.title.clone(),
                done: p.sections_done(),
                total: p.sections.len(),
                tasks: p
                    .tasks
                    .iter()
                    .filter_map(|t| {
                        Some(TaskLine {
                            title: catalogue.task(&t.id)?.title.clone(),
                            best: t.best_score,
                            max: t.max_score,
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The name form.
#[derive(Debug, Deserialize)]
pub struct NameForm {
    /// The new display name; empty clears it.
    pub display_name: String,
}

/// `POST /me/name`.
pub async fn set_name(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    form: Result<Form<NameForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) = form.map_err(AppError::from_form)?;
    state.service.set_name(&learner, &form.display_name).await?;
    Ok(Redirect::to("/me"))
}

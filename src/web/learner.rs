//! `/me`: the learner's name, their progress, and the export link.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::progress::all_progress;
use crate::state::AppState;
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};

/// Longest display name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 60;

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
    /// (task title, best, max) per task.
    pub tasks: Vec<(String, Option<i64>, u32)>,
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
    let me = state.store.snapshot(&learner).await?;
    let chrome = Chrome::of(&state, &me);
    let (done, scores) = (&me.sections_done, &me.best_scores);
    let catalogue = &state.catalogue;
    let lessons = all_progress(catalogue, done, scores)
        .into_iter()
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
                        let task = catalogue.task(&t.id)?;
                        Some((task.title.clone(), t.best_score, t.max_score))
                    })
                    .collect(),
            })
        })
        .collect();
    Ok(Page(LearnerPage {
        name: chrome.learner_name.clone().unwrap_or_default(),
        chrome,
        lessons,
    })
    .into_response())
}

/// The name form.
#[derive(Debug, Deserialize)]
pub struct NameForm {
    /// The new display name; empty clears it.
    pub display_name: String,
}

/// Trims a display name and checks it; `None` means "clear the name".
pub fn clean_name(raw: &str) -> Result<Option<String>, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::BadRequest(format!(
            "A display name has at most {MAX_NAME_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "A display name cannot contain control characters.".into(),
        ));
    }
    Ok(Some(name.to_string()))
}

/// `POST /me/name`.
pub async fn set_name(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    form: Result<Form<NameForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) =
        form.map_err(|e| AppError::rejected(e.status(), format!("Bad form: {}", e.body_text())))?;
    let name = clean_name(&form.display_name)?;
    state
        .store
        .set_display_name(&learner, name.as_deref())
        .await?;
    Ok(Redirect::to("/me"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Ada ").unwrap(), Some("Ada".to_string()));
        assert_eq!(clean_name("   ").unwrap(), None);
        assert!(clean_name(&"x".repeat(61)).is_err());
        assert!(clean_name("a\u{7}b").is_err());
    }
}

//! `/lessons/{lesson}`: the whole lesson with its table of contents and progress controls,
//! and the no-JavaScript form that marks a section done.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::content::{Lesson, TaskStyle};
use crate::web::error::{AppError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

/// A section with its done state.
pub struct SectionView<'a> {
    /// Id (anchor).
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Rendered body.
    pub html: &'a str,
    /// Marked done by this learner.
    pub done: bool,
    /// 1-based position.
    pub number: usize,
    /// A step of the lesson's debugging checklist points here (the page links the diagnosis).
    pub diagnosed: bool,
}

/// A task as the lesson lists it.
pub struct TaskCard<'a> {
    /// Id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Budget in minutes.
    pub minutes: u32,
    /// Style label.
    pub style: &'static str,
    /// Best score, if checked.
    pub best: Option<i64>,
    /// Points available.
    pub max: u32,
}

/// The lesson page.
#[derive(Template)]
#[template(path = "lesson.html")]
pub struct LessonPage<'a> {
    chrome: Chrome,
    lesson: &'a Lesson,
    sections: Vec<SectionView<'a>>,
    tasks: Vec<TaskCard<'a>>,
    done_count: usize,
    total_minutes: u32,
    /// Practice exams for this lesson.
    exams: Vec<&'a crate::content::Exam>,
}

/// `GET /lessons/{lesson}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    let lesson = state.service.lesson(&id)?;
    let (chrome, all) = Chrome::with_progress(&state, &learner).await?;
    let catalogue = state.service.catalogue();
    let progress = all
        .lesson(&lesson.id)
        .ok_or_else(|| AppError::Internal(format!("no progress for lesson `{id}`")))?;
    let sections = lesson
        .sections
        .iter()
        .enumerate()
        .map(|(index, s)| SectionView {
            id: &s.id,
            title: &s.title,
            html: &s.html,
            done: progress.is_done(&s.id),
            number: index + 1,
            diagnosed: lesson.diagnose.iter().any(|d| d.section == s.id),
        })
        .collect();
    let tasks: Vec<TaskCard<'_>> = catalogue
        .lesson_tasks(lesson)
        .map(|task| TaskCard {
            id: &task.id,
            title: &task.title,
            minutes: task.minutes,
            style: TaskStyle::label(task.style),
            best: progress.task(&task.id).and_then(|t| t.best_score),
            max: task.max_points(),
        })
        .collect();
    let total_minutes = tasks.iter().map(|t| t.minutes).sum();
    Ok(Page(LessonPage {
        chrome,
        lesson,
        sections,
        tasks,
        done_count: progress.sections_done(),
        total_minutes,
        exams: catalogue.lesson_exams(&lesson.id).collect(),
    })
    .into_response())
}

/// The form posted by a section's "Mark as done" button.
#[derive(Debug, Deserialize)]
pub struct DoneForm {
    /// `true` to mark done, `false` to undo.
    pub done: bool,
}

/// `POST /lessons/{lesson}/sections/{section}/done`: works without JavaScript.
pub async fn mark(
    State(state): State<AppState>,
    Path((lesson_id, section_id)): Path<(String, String)>,
    CurrentLearner(learner): CurrentLearner,
    form: Result<Form<DoneForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) = form.map_err(AppError::from_form)?;
    let (lesson, section) = state
        .service
        .mark_section(&learner, &lesson_id, &section_id, form.done)
        .await?;
    Ok(Redirect::to(&format!("/lessons/{lesson}#{section}")))
}

impl SizedPage for LessonPage<'_> {
    fn capacity(&self) -> usize {
        self.sections.iter().map(|s| s.html.len()).sum::<usize>() + 32 * 1024
    }
}

/// `GET /lessons/{lesson}/download`: the lesson as a study folder (`.tar.gz`).
pub async fn download(
    State(state): State<AppState>,
    Path(lesson): Path<String>,
) -> AppResult<Response> {
    let archive = state.service.study_folder_archive(&lesson).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/gzip".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{lesson}.tar.gz\""),
            ),
        ],
        archive,
    )
        .into_response())
}

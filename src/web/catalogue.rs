//! `/`: the exam domains, their topics, and the learner's progress per topic.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::content::Exam;
use crate::web::error::AppResult;
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

/// A topic as the catalogue shows it.
pub struct TopicCard {
    /// Title.
    pub title: String,
    /// The lesson, when written.
    pub lesson: Option<LessonCard>,
}

/// A written lesson with the learner's progress.
pub struct LessonCard {
    /// Lesson id.
    pub id: String,
    /// Summary text.
    pub summary: String,
    /// Sections done.
    pub sections_done: usize,
    /// Sections in all.
    pub sections_total: usize,
    /// Tasks with full marks.
    pub tasks_passed: usize,
    /// Tasks in all.
    pub tasks_total: usize,
}

/// A domain with its topics.
pub struct DomainCard {
    /// Title.
    pub title: String,
    /// Weight in percent.
    pub weight: u32,
    /// Topics.
    pub topics: Vec<TopicCard>,
}

/// The catalogue page.
#[derive(Template)]
#[template(path = "catalogue.html")]
pub struct CataloguePage<'a> {
    chrome: Chrome,
    exam: String,
    curriculum: String,
    domains: Vec<DomainCard>,
    /// Practice exams.
    exams: &'a [Exam],
}

/// `GET /`.
pub async fn show(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Response> {
    let (chrome, progress) = Chrome::with_progress(&state, &learner).await?;
    let catalogue = state.service.catalogue();
    let domains = catalogue
        .domains
        .iter()
        .map(|domain| DomainCard {
            title: domain.title.clone(),
            weight: domain.weight,
            topics: domain
                .topics
                .iter()
                .map(|topic| TopicCard {
                    title: topic.title.clone(),
                    lesson: topic.lesson.as_deref().and_then(|id| {
                        let lesson = catalogue.lesson(id)?;
                        let p = progress.lesson(id)?;
                        Some(LessonCard {
                            id: lesson.id.clone(),
                            summary: lesson.summary.clone(),
                            sections_done: p.sections_done(),
                            sections_total: p.sections.len(),
                            tasks_passed: p
                                .tasks
                                .iter()
                                .filter(|t| t.best_score == Some(i64::from(t.max_score)))
                                .count(),
                            tasks_total: p.tasks.len(),
                        })
                    }),
                })
                .collect(),
        })
        .collect();
    Ok(Page(CataloguePage {
        chrome,
        exam: catalogue.exam.clone(),
        curriculum: catalogue.curriculum.clone(),
        domains,
        exams: &catalogue.exams,
    })
    .into_response())
}

impl SizedPage for CataloguePage<'_> {}

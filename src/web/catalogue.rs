//! `/`: the exam domains, their topics, and the learner's progress per topic.

use askama::Template;
use axum::extract::State;

use crate::error::AppResult;
use crate::progress::all_progress;
use crate::state::AppState;
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, Page, SizedPage};

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
pub struct CataloguePage {
    chrome: Chrome,
    exam: String,
    curriculum: String,
    domains: Vec<DomainCard>,
    /// Practice exams: (id, title, minutes, tasks).
    exams: Vec<(String, String, u32, usize)>,
}

/// `GET /`.
pub async fn show(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> AppResult<Page<CataloguePage>> {
    let me = state.store.snapshot(&learner).await?;
    let chrome = Chrome::of(&state, &me);
    let (done, scores) = (&me.sections_done, &me.best_scores);
    let catalogue = &state.catalogue;
    let progress = all_progress(catalogue, done, scores);
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
                        let p = progress.iter().find(|p| p.id == id)?;
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
        exams: catalogue
            .exams
            .iter()
            .map(|e| (e.id.clone(), e.title.clone(), e.minutes, e.tasks.len()))
            .collect(),
    }))
}

impl SizedPage for CataloguePage {}

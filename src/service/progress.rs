//! A learner's progress, derived from the catalogue and their stored rows (pure).

use serde::Serialize;

use crate::content::{Catalogue, Lesson};
use crate::store::{BestScore, SectionDone};

/// One section's state.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SectionProgress {
    /// Section id.
    pub id: String,
    /// Whether the learner marked it done.
    pub done: bool,
    /// When, in seconds since the epoch, if done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
}

/// One task's state.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TaskProgress {
    /// Task id.
    pub id: String,
    /// Best score reached, if ever checked.
    pub best_score: Option<i64>,
    /// Points available.
    pub max_score: u32,
    /// How many times it was checked.
    pub runs: i64,
}

/// One lesson's state.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LessonProgress {
    /// Lesson id.
    pub id: String,
    /// Sections in lesson order.
    pub sections: Vec<SectionProgress>,
    /// Tasks in lesson order.
    pub tasks: Vec<TaskProgress>,
}

impl LessonProgress {
    /// How many sections are done.
    pub fn sections_done(&self) -> usize {
        self.sections.iter().filter(|s| s.done).count()
    }

    /// Whether the section is done.
    pub fn is_done(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s.id == section && s.done)
    }

    /// Best score of a task, if any.
    pub fn task(&self, task: &str) -> Option<&TaskProgress> {
        self.tasks.iter().find(|t| t.id == task)
    }
}

/// Progress for one lesson. Rows for sections or tasks no longer in the content are ignored.
pub fn lesson_progress(
    catalogue: &Catalogue,
    lesson: &Lesson,
    done: &[SectionDone],
    scores: &[BestScore],
) -> LessonProgress {
    let sections = lesson
        .sections
        .iter()
        .map(|section| {
            let row = done
                .iter()
                .find(|d| d.lesson_id == lesson.id && d.section_id == section.id);
            SectionProgress {
                id: section.id.clone(),
                done: row.is_some(),
                done_at: row.map(|r| r.done_at),
            }
        })
        .collect();
    let tasks = catalogue
        .lesson_tasks(lesson)
        .map(|task| {
            let row = scores.iter().find(|s| s.task_id == task.id);
            TaskProgress {
                id: task.id.clone(),
                best_score: row.map(|r| r.score),
                max_score: task.max_points(),
                runs: row.map_or(0, |r| r.runs),
            }
        })
        .collect();
    LessonProgress {
        id: lesson.id.clone(),
        sections,
        tasks,
    }
}

/// Progress for every lesson, in catalogue order.
pub fn all_progress(
    catalogue: &Catalogue,
    done: &[SectionDone],
    scores: &[BestScore],
) -> Vec<LessonProgress> {
    catalogue
        .lessons
        .iter()
        .map(|lesson| lesson_progress(catalogue, lesson, done, scores))
        .collect()
}

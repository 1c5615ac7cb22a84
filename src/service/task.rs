//! What a learner sees of one task: their progress, the latest verdict, timed practice,
//! the exam that holds it, and the other tasks it shares a cluster with.

use std::sync::Arc;

use crate::content::{Lesson, Task, conflicts};
use crate::store::{CheckRun, LearnerId, LearnerSnapshot};

use super::progress::{TaskProgress, lesson_progress};
use super::{PracticeBoard, Service, ServiceResult};

/// Another task of the lesson that claims the same objects or the CNI.
#[derive(Debug, Clone)]
pub struct SharedTask<'a> {
    /// The other task.
    pub task: &'a Task,
    /// What both claim.
    pub what: String,
}

/// One task with the learner's state of it.
#[derive(Debug, Clone)]
pub struct TaskOverview<'a> {
    /// The learner.
    pub me: Arc<LearnerSnapshot>,
    /// The task.
    pub task: &'a Task,
    /// Its lesson.
    pub lesson: &'a Lesson,
    /// The learner's best score and number of checks.
    pub progress: Option<TaskProgress>,
    /// The tasks before and after it in the lesson.
    pub neighbours: (Option<&'a Task>, Option<&'a Task>),
    /// Tasks it shares a cluster with.
    pub shares: Vec<SharedTask<'a>>,
    /// The learner's unfinished exam that includes it.
    pub in_exam: Option<i64>,
    /// The learner's latest check.
    pub last: Option<CheckRun>,
    /// Timed practice.
    pub practice: PracticeBoard,
}

impl Service {
    /// A task with everything the learner's page shows about it.
    pub async fn task_overview(
        &self,
        learner: &LearnerId,
        id: &str,
    ) -> ServiceResult<TaskOverview<'_>> {
        let task = self.task(id)?;
        let lesson = self.lesson(&task.lesson)?;
        let me = self.learner(learner).await?;
        let progress = lesson_progress(
            &self.0.catalogue,
            lesson,
            &me.sections_done,
            &me.best_scores,
        )
        .task(&task.id)
        .cloned();
        Ok(TaskOverview {
            neighbours: self.neighbours(lesson, task),
            shares: self.shares(lesson, task),
            in_exam: self.exam_holding(learner, &task.id).await?,
            last: self.latest_check(learner, &task.id).await?,
            practice: self.practice(learner, &task.id).await?,
            me,
            task,
            lesson,
            progress,
        })
    }

    fn neighbours<'a>(
        &'a self,
        lesson: &Lesson,
        task: &Task,
    ) -> (Option<&'a Task>, Option<&'a Task>) {
        let position = lesson.tasks.iter().position(|t| *t == task.id);
        let at = |offset: isize| {
            position
                .and_then(|p| p.checked_add_signed(offset))
                .and_then(|p| lesson.tasks.get(p))
                .and_then(|t| self.0.catalogue.task(t))
        };
        (at(-1), at(1))
    }

    fn shares<'a>(&'a self, lesson: &'a Lesson, task: &'a Task) -> Vec<SharedTask<'a>> {
        self.0
            .catalogue
            .lesson_tasks(lesson)
            .filter(|other| other.id != task.id)
            .filter_map(|other| {
                let what: Vec<String> = conflicts(&[task, other])
                    .into_iter()
                    .map(|c| c.what)
                    .collect();
                (!what.is_empty()).then(|| SharedTask {
                    task: other,
                    what: what.join(", "),
                })
            })
            .collect()
    }
}

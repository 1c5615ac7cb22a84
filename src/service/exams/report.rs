//! The report of a graded attempt, computed once from the stored verdicts: the page, the
//! JSON API and the start page's history all show this one model.

use crate::checks::{Status as CriterionStatus, Verdict};
use crate::exam::{self, ExamScore, TaskRecord, TaskSnapshot};
use crate::store::{ExamAttempt, ExamTask};

/// One task of a graded attempt.
#[derive(Debug, Clone)]
pub struct ReportTask {
    /// The task as frozen at the start.
    pub task: TaskSnapshot,
    /// Its stored verdict, if it was graded.
    pub verdict: Option<Verdict>,
    /// Seconds the learner spent on it.
    pub seconds_spent: i64,
    /// Flagged for review.
    pub flagged: bool,
}

impl ReportTask {
    /// The task's result; a task without a verdict scores 0 of its points.
    pub fn record(&self) -> TaskRecord {
        record(&self.task, self.verdict.as_ref())
    }

    /// Whether some criterion could not be judged (or the task was not judged at all).
    pub fn unjudged(&self) -> bool {
        self.verdict.as_ref().is_none_or(|v| {
            v.criteria
                .iter()
                .any(|c| c.status == CriterionStatus::Error)
        })
    }
}

/// A graded attempt with its total and per-task results.
#[derive(Debug, Clone)]
pub struct ExamReport {
    /// The attempt.
    pub attempt: ExamAttempt,
    /// Its tasks, in exam order.
    pub tasks: Vec<ReportTask>,
    /// The total, with partial credit and the pass mark.
    pub score: ExamScore,
}

impl ExamReport {
    /// Builds the report from the attempt and its stored tasks.
    pub fn build(attempt: ExamAttempt, stored: &[ExamTask]) -> ExamReport {
        let tasks: Vec<ReportTask> = attempt
            .definition
            .tasks
            .iter()
            .map(|snapshot| {
                let row = stored.iter().find(|s| s.task_id == snapshot.task);
                ReportTask {
                    task: snapshot.clone(),
                    verdict: row.and_then(|r| r.verdict.clone()),
                    seconds_spent: row.and_then(|r| r.seconds_spent).unwrap_or(0),
                    flagged: row.is_some_and(|r| r.flagged),
                }
            })
            .collect();
        let records: Vec<TaskRecord> = tasks.iter().map(ReportTask::record).collect();
        let score = exam::total(&records, attempt.definition.pass_mark);
        ExamReport {
            attempt,
            tasks,
            score,
        }
    }

    /// Per-task results, for trends over attempts.
    pub fn records(&self) -> Vec<TaskRecord> {
        self.tasks.iter().map(ReportTask::record).collect()
    }

    /// Whether some criterion could not be judged (a re-grade may judge it).
    pub fn has_errors(&self) -> bool {
        self.tasks.iter().any(ReportTask::unjudged)
    }

    /// Whether the verdicts were judged against other content than the exam started with.
    pub fn content_changed(&self) -> bool {
        self.attempt
            .graded_digest
            .as_ref()
            .is_some_and(|d| *d != self.attempt.content_digest)
    }
}

/// A task's result from its verdict; a task without one scores 0 of its points.
pub(super) fn record(task: &TaskSnapshot, verdict: Option<&Verdict>) -> TaskRecord {
    TaskRecord {
        task: task.task.clone(),
        score: verdict.map_or(0, |v| v.score),
        max: verdict.map_or(task.max_points, |v| v.max_score),
    }
}

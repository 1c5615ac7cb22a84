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
    /// The total, with partial credit and the pass mark; an incomplete attempt never passes.
    pub score: ExamScore,
    /// Why the attempt is incomplete: criteria that could not be judged at the end of the
    /// exam stay unjudged (judging them later would use work done after the deadline).
    pub incomplete_reason: Option<String>,
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
        let mut score = exam::total(&records, attempt.definition.pass_mark);
        let incomplete_reason = incomplete_reason(&attempt, &tasks);
        score.passed &= incomplete_reason.is_none();
        ExamReport {
            attempt,
            tasks,
            score,
            incomplete_reason,
        }
    }

    /// Per-task results, for trends over attempts.
    pub fn records(&self) -> Vec<TaskRecord> {
        self.tasks.iter().map(ReportTask::record).collect()
    }

    /// Whether every criterion was judged at the end of the exam.
    pub fn complete(&self) -> bool {
        self.incomplete_reason.is_none()
    }

    /// Whether the verdicts were judged against other content than the exam started with.
    pub fn content_changed(&self) -> bool {
        self.attempt
            .graded_digest
            .as_ref()
            .is_some_and(|d| *d != self.attempt.content_digest)
    }
}

/// Why an attempt is incomplete, if it is: how many criteria could not be judged when the
/// exam ended, when that was, and the first reason seen.
fn incomplete_reason(attempt: &ExamAttempt, tasks: &[ReportTask]) -> Option<String> {
    let unjudged: Vec<&ReportTask> = tasks.iter().filter(|t| t.unjudged()).collect();
    if unjudged.is_empty() || attempt.graded_at.is_none() {
        return None;
    }
    let errors: Vec<&crate::checks::CriterionResult> = unjudged
        .iter()
        .filter_map(|t| t.verdict.as_ref())
        .flat_map(|v| v.criteria.iter())
        .filter(|c| c.status == CriterionStatus::Error)
        .collect();
    let count = if errors.is_empty() {
        format!("{} task(s)", unjudged.len())
    } else {
        format!("{} criterion(s)", errors.len())
    };
    let when = attempt
        .ended_at
        .or(attempt.graded_at)
        .map(|t| crate::clock::utc(t, crate::clock::Precision::Second))
        .unwrap_or_default();
    let why = errors
        .first()
        .map(|c| format!(": {}", c.evidence.observed))
        .unwrap_or_default();
    Some(format!(
        "{count} could not be judged when the exam ended ({when}){why}. They score nothing and the attempt cannot pass; judging them later would count work done after the deadline, so start a new attempt to be graded in full"
    ))
}

/// A task's result from its verdict; a task without one scores 0 of its points.
pub(super) fn record(task: &TaskSnapshot, verdict: Option<&Verdict>) -> TaskRecord {
    TaskRecord {
        task: task.task.clone(),
        score: verdict.map_or(0, |v| v.score),
        max: verdict.map_or(task.max_points, |v| v.max_score),
    }
}

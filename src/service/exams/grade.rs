//! Grading an attempt once, whoever asks first (the deadline, a submission, a page that
//! noticed the deadline), and re-grading the criteria that could not be judged.

use std::time::Duration;

use crate::checks::{Status as CriterionStatus, Verdict};
use crate::exam::{self, Status, TaskRecord, TaskSnapshot};
use crate::store::{ExamAttempt, Grade, GradedTask, Grading, LearnerId};

use super::super::check::check;
use super::super::{Service, ServiceError, ServiceResult};
use super::report::{ExamReport, record};

/// How long a request waits for a grading that another request or the deadline started.
const GRADING_WAIT: Duration = Duration::from_secs(40);

/// Why an attempt is being graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The learner submitted.
    Submitted,
    /// The deadline passed (scheduler, or a request that noticed it).
    Deadline,
}

impl Service {
    /// Grades a running attempt (once, whoever asks first) and returns it graded. A caller that
    /// loses the race waits for the winner's result.
    pub(super) async fn grade(&self, id: i64, ending: Ending) -> ServiceResult<ExamAttempt> {
        let attempt = self.load_attempt(id).await?;
        match attempt.status {
            Status::Graded => return Ok(attempt),
            Status::Preparing => return Err(ServiceError::ExamNotStarted),
            Status::Grading => return self.wait_for_grade(id).await,
            Status::Running => {}
        }
        let now = self.now();
        let timer = self.timer_or_now(&attempt);
        let submitted = ending == Ending::Submitted && !timer.overtime(now);
        // A submission ends work now (never before the start, should the clock step back);
        // anything else ends it at the deadline.
        let ended_at = if submitted {
            now.max(timer.started_at)
        } else {
            timer.deadline_at
        };
        if !self
            .0
            .store
            .claim_exam_grading(id, ended_at, submitted)
            .await?
        {
            return self.wait_for_grade(id).await;
        }
        let why_late = (!submitted).then_some(
            "the server could not grade at the deadline (it was busy, suspended or retrying)",
        );
        match self.finish_grading(attempt, ended_at, why_late).await {
            Ok(graded) => Ok(graded),
            Err(err) => {
                self.0.store.release_exam_grading(id).await?;
                Err(err)
            }
        }
    }

    /// Grades an attempt already moved to `grading` (or recovered), storing every verdict.
    pub(super) async fn finish_grading(
        &self,
        attempt: ExamAttempt,
        ended_at: i64,
        why_late: Option<&str>,
    ) -> ServiceResult<ExamAttempt> {
        let id = attempt.id;
        let verdicts = self.judge(&attempt.definition.tasks).await;
        let started = attempt.timer.map(|t| t.started_at).unwrap_or(ended_at);
        let views = self.0.store.exam_views(id).await?;
        let spent = exam::time_per_task(&views, started, ended_at);
        let graded: Vec<GradedTask> = attempt
            .definition
            .tasks
            .iter()
            .zip(verdicts)
            .map(|(snapshot, verdict)| GradedTask {
                seconds: spent.get(&snapshot.task).copied().unwrap_or(0),
                task: snapshot.task.clone(),
                verdict,
            })
            .collect();
        let graded_at = self.now();
        let late = why_late.and_then(|why| exam::late_reason(ended_at, graded_at, why));
        let grade = self
            .store_grade(&attempt, &graded, graded_at, late.as_deref(), false)
            .await?;
        tracing::info!(
            attempt = id,
            score = grade.score,
            max = grade.max,
            "exam graded"
        );
        self.load_attempt(id).await
    }

    /// Stores verdicts with their total (one computation, the report's).
    async fn store_grade(
        &self,
        attempt: &ExamAttempt,
        graded: &[GradedTask],
        at: i64,
        late_reason: Option<&str>,
        regrade: bool,
    ) -> ServiceResult<Grade> {
        let records: Vec<TaskRecord> = attempt
            .definition
            .tasks
            .iter()
            .map(|t| {
                record(
                    t,
                    graded.iter().find(|g| g.task == t.task).map(|g| &g.verdict),
                )
            })
            .collect();
        let total = exam::total(&records, attempt.definition.pass_mark);
        let grade = Grade {
            score: total.score,
            max: total.max,
            passed: total.passed,
        };
        let grading = Grading {
            at,
            late_reason,
            digest: &self.0.catalogue.digest,
            regrade,
        };
        self.0
            .store
            .store_exam_grade(attempt.id, graded, grade, grading)
            .await?;
        Ok(grade)
    }

    /// Every task's verdict on its own context, checked concurrently (each within the check budget).
    async fn judge(&self, tasks: &[TaskSnapshot]) -> Vec<Verdict> {
        let checks = tasks.iter().map(|snapshot| async move {
            match self.0.catalogue.task(&snapshot.task) {
                None => missing(snapshot),
                Some(task) => check(self.0.clusters.connect(&snapshot.context).await, task).await,
            }
        });
        futures_util::future::join_all(checks).await
    }

    async fn wait_for_grade(&self, id: i64) -> ServiceResult<ExamAttempt> {
        let until = tokio::time::Instant::now() + GRADING_WAIT;
        loop {
            let attempt = self.load_attempt(id).await?;
            if attempt.status == Status::Graded {
                return Ok(attempt);
            }
            if tokio::time::Instant::now() >= until {
                return Err(ServiceError::StillGrading);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Re-checks, in a graded attempt, the criteria that could not be judged (status `error`),
    /// keeping every other criterion as it was judged at the end of the exam, and updates the
    /// totals. The report says when this happened.
    pub async fn regrade(&self, learner: &LearnerId, id: &str) -> ServiceResult<ExamReport> {
        let attempt = self.own_attempt(learner, id).await?;
        if attempt.status != Status::Graded {
            return Err(ServiceError::RegradeBeforeGrading);
        }
        let stored = self.0.store.exam_tasks(attempt.id).await?;
        let before = ExamReport::build(attempt, &stored);
        let to_check: Vec<TaskSnapshot> = before
            .tasks
            .iter()
            .filter(|t| t.unjudged())
            .map(|t| t.task.clone())
            .collect();
        if to_check.is_empty() {
            return Ok(before);
        }
        let fresh = self.judge(&to_check).await;
        let graded: Vec<GradedTask> = before
            .tasks
            .iter()
            .map(|t| GradedTask {
                task: t.task.task.clone(),
                verdict: merge(
                    t.verdict.clone(),
                    fresh.iter().find(|v| v.task == t.task.task),
                    &t.task,
                ),
                seconds: t.seconds_spent,
            })
            .collect();
        self.store_grade(&before.attempt, &graded, self.now(), None, true)
            .await?;
        let attempt = self.load_attempt(before.attempt.id).await?;
        let stored = self.0.store.exam_tasks(attempt.id).await?;
        Ok(ExamReport::build(attempt, &stored))
    }
}

/// A stored verdict with only its `error` criteria replaced by a fresh judgement.
fn merge(old: Option<Verdict>, new: Option<&Verdict>, snapshot: &TaskSnapshot) -> Verdict {
    match (old, new) {
        (Some(old), Some(new)) => {
            let criteria = old
                .criteria
                .into_iter()
                .map(|c| match new.criteria.iter().find(|n| n.id == c.id) {
                    Some(n) if c.status == CriterionStatus::Error => n.clone(),
                    _ => c,
                })
                .collect();
            Verdict::new(&snapshot.task, criteria)
        }
        (Some(old), None) => old,
        (None, Some(new)) => new.clone(),
        (None, None) => missing(snapshot),
    }
}

/// The verdict of a task the content no longer has: nothing scored out of its points.
fn missing(snapshot: &TaskSnapshot) -> Verdict {
    Verdict {
        task: snapshot.task.clone(),
        score: 0,
        max_score: snapshot.max_points,
        passed: false,
        criteria: Vec::new(),
    }
}

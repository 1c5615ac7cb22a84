//! Grading an attempt once, whoever asks first (the deadline, a submission, a page that
//! noticed the deadline), and re-grading the criteria that could not be judged.

use std::time::Duration;

use crate::checks::Verdict;
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
        // Late or not is decided by when judging began, not by how long the checks took.
        let judging_from = self.now();
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
        let late = why_late.and_then(|why| exam::late_reason(ended_at, judging_from, why));
        let grade = self
            .store_grade(&attempt, &graded, graded_at, late.as_deref(), false)
            .await?;
        tracing::info!(
            attempt = id,
            score = grade.score,
            max = grade.max,
            "exam graded"
        );
        self.publish(super::super::ClassEvent::Exam {
            learner: attempt.learner_id.clone(),
        });
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
                Some(task) => check(self.connect_snapshot(snapshot).await, task).await,
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

    /// Re-grading is refused: a criterion that could not be judged when the exam ended can
    /// only be judged against the cluster as it is now, which would count work done after
    /// the deadline. The attempt stays incomplete (see its report); a new attempt is the way.
    pub async fn regrade(&self, learner: &LearnerId, id: &str) -> ServiceResult<ExamReport> {
        let attempt = self.own_attempt(learner, id).await?;
        if attempt.status != Status::Graded {
            return Err(ServiceError::RegradeBeforeGrading);
        }
        Err(ServiceError::RegradeAfterDeadline)
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

//! Preparing an attempt: every task's setup on its context, then the clock and the
//! scheduled grading; and the retry of a setup that failed.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::Timer;
use crate::exam::{Phase, SetupState, Status, TaskSnapshot};
use crate::store::{ExamAttempt, LearnerId, StoreError};

use super::super::steps::Action;
use super::super::{Service, ServiceError, ServiceResult};
use super::grade::Ending;

/// The longest one task's setup may take before it counts as failed.
pub const SETUP_BUDGET: Duration = Duration::from_secs(120);

/// Attempts whose preparation runs in this process, so a second start or a recovery does
/// not run the same setups twice at once.
#[derive(Debug, Default)]
pub struct Preparations(Mutex<HashSet<i64>>);

impl Preparations {
    /// Claims `id`; false if a preparation already runs.
    fn claim(&self, id: i64) -> bool {
        self.0.lock().map(|mut set| set.insert(id)).unwrap_or(false)
    }

    fn release(&self, id: i64) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(&id);
        }
    }
}

impl Service {
    /// Runs every pending task's setup, then starts the clock and schedules grading. Does nothing
    /// for an attempt that is not preparing or is already being prepared.
    pub(super) async fn prepare(self, id: i64) {
        if !self.0.preparations.claim(id) {
            return;
        }
        let result = self.prepare_claimed(id).await;
        self.0.preparations.release(id);
        if let Err(err) = result {
            tracing::error!(attempt = id, error = %err, "preparing an exam failed; starting it again resumes");
        }
    }

    async fn prepare_claimed(&self, id: i64) -> Result<(), StoreError> {
        let Some(attempt) = self.0.store.exam_attempt(id).await? else {
            return Ok(());
        };
        if attempt.status != Status::Preparing {
            return Ok(());
        }
        for task in self.0.store.exam_tasks(id).await? {
            if task.setup_state != SetupState::Ok
                && let Some(snapshot) = attempt.definition.task(&task.task_id)
            {
                self.set_up(id, snapshot, SETUP_BUDGET).await?;
            }
        }
        // A held attempt (a class exam) waits for the one start of everyone's clock.
        if self.0.store.exam_held(id).await? {
            return Ok(());
        }
        // The clock starts once the clusters are ready, so setup never eats exam time.
        let timer = Timer::start(self.now(), attempt.definition.minutes);
        if self.0.store.start_exam_clock(id, timer).await? {
            self.schedule(id, timer.deadline_at);
            self.publish(super::super::ClassEvent::Exam {
                learner: attempt.learner_id.clone(),
            });
        }
        Ok(())
    }

    /// Sets up one task of an attempt on its context, within `budget`, and records it.
    async fn set_up(
        &self,
        id: i64,
        snapshot: &TaskSnapshot,
        budget: Duration,
    ) -> Result<bool, StoreError> {
        let store = &self.0.store;
        store
            .set_exam_setup(id, &snapshot.task, SetupState::Running, "setting up")
            .await?;
        let (ok, detail) = match self.0.catalogue.task(&snapshot.task) {
            None => (
                false,
                "this task is no longer in the content; nothing to set up".to_string(),
            ),
            Some(task) => {
                let connection = self.connect_snapshot(snapshot).await;
                match tokio::time::timeout(budget, self.run_on(connection, task, Action::Setup))
                    .await
                {
                    Ok(outcome) => (outcome.ok, outcome.summary()),
                    Err(_) => (
                        false,
                        format!(
                            "setup did not finish within {} s on context {}",
                            budget.as_secs(),
                            snapshot.context
                        ),
                    ),
                }
            }
        };
        store
            .set_exam_setup(id, &snapshot.task, SetupState::after(ok), &detail)
            .await?;
        Ok(ok)
    }

    /// Re-runs a failed task setup while the exam runs, within the time left.
    pub async fn retry_setup(
        &self,
        learner: &LearnerId,
        id: &str,
        task: &str,
    ) -> ServiceResult<super::AttemptView> {
        let attempt = self.own_attempt(learner, id).await?;
        self.retry_claimed(&attempt, task).await?;
        self.view_of(attempt).await
    }

    async fn retry_claimed(&self, attempt: &ExamAttempt, task: &str) -> ServiceResult<bool> {
        let snapshot = attempt
            .definition
            .task(task)
            .ok_or_else(|| ServiceError::NotInExam(task.to_string()))?;
        let phase = Phase::at(attempt.status, attempt.timer, self.now());
        phase
            .accepts_work()
            .map_err(|refused| ServiceError::ExamRefused {
                action: "set up",
                task: task.to_string(),
                refused,
            })?;
        let remaining = match phase {
            Phase::Running { remaining, .. } => remaining,
            _ => 0,
        };
        // Only a failed setup is re-run, and only once at a time (two tabs, a double click).
        if !self.0.store.claim_exam_setup(attempt.id, task).await? {
            return Err(ServiceError::SetupNotRetryable(task.to_string()));
        }
        let budget = SETUP_BUDGET.min(Duration::from_secs(u64::try_from(remaining).unwrap_or(0)));
        Ok(self.set_up(attempt.id, snapshot, budget).await?)
    }

    /// Grades the attempt when its deadline comes.
    pub(super) fn schedule(&self, id: i64, deadline_at: i64) {
        let service = self.clone();
        tokio::spawn(async move {
            let mut deadline_at = deadline_at;
            loop {
                let wait = u64::try_from(deadline_at - service.now()).unwrap_or(0);
                // One second past the deadline: the last second still belongs to the learner.
                tokio::time::sleep(Duration::from_secs(wait + 1)).await;
                // The instructor may have extended it meanwhile: wait for the new deadline.
                match service.0.store.exam_attempt(id).await {
                    Ok(Some(a))
                        if a.status == crate::exam::Status::Running
                            && a.timer.is_some_and(|t| t.deadline_at > deadline_at) =>
                    {
                        deadline_at = a.timer.map_or(deadline_at, |t| t.deadline_at);
                    }
                    _ => break,
                }
            }
            // A failed grading gives its claim back; try again a few times before leaving it to
            // the next request or restart.
            for attempt in 1..=5u64 {
                match service.grade(id, Ending::Deadline).await {
                    Ok(_) => return,
                    Err(err) => {
                        tracing::error!(attempt = id, error = %err, "grading at the deadline failed");
                        tokio::time::sleep(Duration::from_secs(10 * attempt)).await;
                    }
                }
            }
        });
    }
}

impl Service {
    /// Starts the clocks of held attempts at once, with one deadline; the attempts started.
    pub(crate) async fn start_held_clocks(
        &self,
        attempts: &[ExamAttempt],
    ) -> ServiceResult<(Vec<i64>, Option<i64>)> {
        let now = self.now();
        let mut started = Vec::new();
        let mut deadline = None;
        for attempt in attempts {
            let timer = Timer::start(now, attempt.definition.minutes);
            if self
                .0
                .store
                .start_held_exam_clock(attempt.id, timer)
                .await?
            {
                self.schedule(attempt.id, timer.deadline_at);
                self.publish(super::super::ClassEvent::Exam {
                    learner: attempt.learner_id.clone(),
                });
                started.push(attempt.id);
                deadline = Some(timer.deadline_at);
            }
        }
        Ok((started, deadline))
    }
}

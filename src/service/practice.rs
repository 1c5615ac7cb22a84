//! Timed practice of one task: start runs the setup and starts the server-side clock;
//! finish records the time used and the final verdict.

use crate::checks::Verdict;
use crate::clock::Timer;
use crate::store::{LearnerId, PracticeAttempt};

use super::steps::Action;
use super::{Service, ServiceError, ServiceResult};

/// A learner's timed attempts at one task, read at one moment.
#[derive(Debug, Clone)]
pub struct PracticeBoard {
    /// When it was read.
    pub now: i64,
    /// Newest first.
    pub history: Vec<PracticeAttempt>,
}

impl PracticeBoard {
    /// The attempt still running, if any.
    pub fn open(&self) -> Option<&PracticeAttempt> {
        self.history.iter().find(|a| a.finished_at.is_none())
    }

    /// The best score over every attempt.
    pub fn best_score(&self) -> Option<i64> {
        self.history.iter().filter_map(|a| a.score).max()
    }
}

/// A finished attempt and its final verdict.
#[derive(Debug, Clone)]
pub struct PracticeFinished {
    /// The attempt, finished.
    pub attempt: PracticeAttempt,
    /// The final check.
    pub verdict: Verdict,
}

impl Service {
    /// The learner's attempts at a task.
    pub async fn practice(&self, learner: &LearnerId, task: &str) -> ServiceResult<PracticeBoard> {
        let task = self.task(task)?;
        Ok(PracticeBoard {
            now: self.now(),
            history: self.0.store.practice_history(learner, &task.id).await?,
        })
    }

    /// Starts a timed attempt (or returns the running one): runs the task's setup, then starts
    /// the clock, so a slow setup does not eat the learner's time.
    pub async fn start_practice(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> ServiceResult<PracticeAttempt> {
        let task = self.open_task(learner, task).await?;
        if let Some(open) = self.0.store.open_practice(learner, &task.id).await? {
            return Ok(open);
        }
        let me = self.learner(learner).await?;
        let outcome = self
            .run_on(self.connection(learner, &me).await, task, Action::Setup)
            .await;
        let timer = Timer::start(self.now(), task.minutes);
        Ok(self
            .0
            .store
            .start_practice(
                learner,
                &task.id,
                timer,
                (outcome.ok, &outcome.summary()),
                &self.0.catalogue.digest,
            )
            .await?)
    }

    /// Finishes the running attempt with a final check.
    pub async fn finish_practice(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> ServiceResult<PracticeFinished> {
        let task = self.open_task(learner, task).await?;
        let open = self
            .0
            .store
            .open_practice(learner, &task.id)
            .await?
            .ok_or_else(|| ServiceError::PracticeNotRunning(task.id.clone()))?;
        let (verdict, run) = self.check_and_store(learner, task).await?;
        let finished_at = self.now();
        self.0
            .store
            .finish_practice(learner, open.id, finished_at, &verdict, run)
            .await?;
        let attempt = PracticeAttempt {
            finished_at: Some(finished_at),
            score: Some(i64::from(verdict.score)),
            max_score: Some(i64::from(verdict.max_score)),
            passed: Some(verdict.passed),
            ..open
        };
        Ok(PracticeFinished { attempt, verdict })
    }
}

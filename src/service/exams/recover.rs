//! After a restart: every unfinished attempt picks up where it was, so exams keep their
//! deadlines across `kill -9`.

use crate::exam::Status;
use crate::store::ExamAttempt;

use super::super::Service;

impl Service {
    /// Picks up every unfinished attempt after a start: preparation resumes, running clocks are
    /// rescheduled, and attempts whose deadline passed while the server was down are graded now,
    /// with the reason recorded.
    pub async fn recover_exams(&self) {
        let attempts = match self.0.store.unfinished_exam_attempts().await {
            Ok(attempts) => attempts,
            Err(err) => {
                tracing::error!(error = %err, "cannot read unfinished exam attempts");
                return;
            }
        };
        let now = self.now();
        for attempt in attempts {
            let id = attempt.id;
            match (attempt.status, attempt.timer) {
                (Status::Preparing, _) => {
                    tokio::spawn(self.clone().prepare(id));
                }
                (Status::Running, Some(timer)) if !timer.overtime(now) => {
                    self.schedule(id, timer.deadline_at);
                }
                (Status::Running, timer) => {
                    let deadline = timer.map(|t| t.deadline_at).unwrap_or(now);
                    // Claimed before the server listens, so no request can grade it first
                    // without the reason.
                    match self.0.store.claim_exam_grading(id, deadline, false).await {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(err) => {
                            tracing::error!(attempt = id, error = %err, "cannot claim a late grading");
                            continue;
                        }
                    }
                    self.grade_late(
                        attempt,
                        deadline,
                        "the server was not running at the deadline",
                    );
                }
                (Status::Grading, _) => {
                    let ended = attempt
                        .ended_at
                        .or(attempt.timer.map(|t| t.deadline_at))
                        .unwrap_or(now);
                    self.grade_late(attempt, ended, "the server stopped while grading");
                }
                (Status::Graded, _) => {}
            }
        }
    }

    /// Finishes, in the background, the grading of an attempt claimed at recovery.
    fn grade_late(&self, attempt: ExamAttempt, ended_at: i64, why: &'static str) {
        let service = self.clone();
        tokio::spawn(async move {
            let id = attempt.id;
            if let Err(err) = service.finish_grading(attempt, ended_at, Some(why)).await {
                tracing::error!(attempt = id, error = %err, "grading at recovery failed");
            }
        });
    }
}

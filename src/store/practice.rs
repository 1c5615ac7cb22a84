//! Timed practice attempts of single tasks.

use crate::clock::Timer;

use super::{LearnerId, Store, StoreError};

/// One timed attempt.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PracticeAttempt {
    /// Row id.
    pub id: i64,
    /// Task id.
    pub task_id: String,
    /// Start, seconds since the epoch.
    pub started_at: i64,
    /// Deadline, seconds since the epoch.
    pub deadline_at: i64,
    /// Whether the setup run at start succeeded.
    pub setup_ok: bool,
    /// What the setup did, or why it failed.
    pub setup_detail: String,
    /// When finished, if finished.
    pub finished_at: Option<i64>,
    /// Score of the final check.
    pub score: Option<i64>,
    /// Points available in the final check.
    pub max_score: Option<i64>,
    /// Whether the final check passed every criterion.
    pub passed: Option<bool>,
}

impl PracticeAttempt {
    /// The attempt's timer.
    pub fn timer(&self) -> Timer {
        Timer {
            started_at: self.started_at,
            deadline_at: self.deadline_at,
        }
    }
}

/// The attempt columns, as a literal so queries stay static strings (sqlx requires that).
macro_rules! attempt_columns {
    () => {
        "id, task_id, started_at, deadline_at, setup_ok, setup_detail, finished_at, score, max_score, passed"
    };
}

/// The learner's unfinished attempt at a task, on one connection (or inside a transaction).
async fn open_attempt(
    conn: &mut sqlx::SqliteConnection,
    learner: &LearnerId,
    task: &str,
) -> Result<Option<PracticeAttempt>, StoreError> {
    Ok(sqlx::query_as::<_, PracticeAttempt>(concat!(
        "SELECT ",
        attempt_columns!(),
        " FROM practice_attempts \
         WHERE learner_id = ? AND task_id = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1"
    ))
    .bind(learner.as_str())
    .bind(task)
    .fetch_optional(conn)
    .await?)
}

impl Store {
    /// The learner's unfinished attempt at a task, if any.
    pub async fn open_practice(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> Result<Option<PracticeAttempt>, StoreError> {
        open_attempt(&mut *self.pool.acquire().await?, learner, task).await
    }

    /// Starts an attempt, unless one is already open (then that one is returned: two tabs,
    /// or a double click, share one clock).
    pub async fn start_practice(
        &self,
        learner: &LearnerId,
        task: &str,
        timer: Timer,
        setup: (bool, &str),
        content_digest: &str,
    ) -> Result<PracticeAttempt, StoreError> {
        let mut tx = self.pool.begin().await?;
        super::learners::touch(&mut tx, learner, timer.started_at).await?;
        let open = open_attempt(&mut tx, learner, task).await?;
        if let Some(open) = open {
            tx.commit().await?;
            return Ok(open);
        }
        let id = sqlx::query(
            "INSERT INTO practice_attempts (learner_id, task_id, started_at, deadline_at, setup_ok, setup_detail, content_digest) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(learner.as_str())
        .bind(task)
        .bind(timer.started_at)
        .bind(timer.deadline_at)
        .bind(setup.0)
        .bind(setup.1)
        .bind(content_digest)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        self.commit_for(tx, learner).await?;
        Ok(PracticeAttempt {
            id,
            task_id: task.to_string(),
            started_at: timer.started_at,
            deadline_at: timer.deadline_at,
            setup_ok: setup.0,
            setup_detail: setup.1.to_string(),
            finished_at: None,
            score: None,
            max_score: None,
            passed: None,
        })
    }

    /// Finishes an open attempt with its final check; false if it was already finished.
    pub async fn finish_practice(
        &self,
        learner: &LearnerId,
        attempt: i64,
        finished_at: i64,
        verdict: &crate::checks::Verdict,
        check_run: i64,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query(
            "UPDATE practice_attempts SET finished_at = ?, score = ?, max_score = ?, passed = ?, check_run_id = ? \
             WHERE id = ? AND learner_id = ? AND finished_at IS NULL",
        )
        .bind(finished_at);
        let query = super::bind_score(query, verdict)
            .bind(check_run)
            .bind(attempt)
            .bind(learner.as_str());
        let done = self.changed_one(query).await?;
        self.cache.invalidate(learner);
        Ok(done)
    }

    /// The learner's attempts at a task, newest first.
    pub async fn practice_history(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> Result<Vec<PracticeAttempt>, StoreError> {
        Ok(sqlx::query_as::<_, PracticeAttempt>(concat!(
            "SELECT ",
            attempt_columns!(),
            " FROM practice_attempts WHERE learner_id = ? AND task_id = ? ORDER BY id DESC LIMIT 50"
        ))
        .bind(learner.as_str())
        .bind(task)
        .fetch_all(&self.pool)
        .await?)
    }
}

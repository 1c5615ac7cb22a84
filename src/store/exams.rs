//! Practice exam attempts, their tasks and the learner's task views.

use crate::checks::Verdict;
use crate::clock::Timer;
use crate::exam::{ExamSnapshot, SetupState, Status};

use super::{LearnerId, Store, StoreError, corrupt, encode};

/// A stored exam attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamAttempt {
    /// Row id, the attempt's public id.
    pub id: i64,
    /// Owner.
    pub learner_id: String,
    /// Exam id.
    pub exam_id: String,
    /// Where it stands.
    pub status: Status,
    /// The exam as it was at start.
    pub definition: ExamSnapshot,
    /// Content digest at start.
    pub content_digest: String,
    /// Content digest the verdicts were judged against, once graded.
    pub graded_digest: Option<String>,
    /// Created (preparation began).
    pub created_at: i64,
    /// The clock, once preparation is over.
    pub timer: Option<Timer>,
    /// When the learner submitted early.
    pub submitted_at: Option<i64>,
    /// When work ended: the submission or the deadline.
    pub ended_at: Option<i64>,
    /// When grading finished.
    pub graded_at: Option<i64>,
    /// Why grading came late, if it did.
    pub late_reason: Option<String>,
    /// When criteria that could not be judged were last re-graded.
    pub regraded_at: Option<i64>,
    /// Total points scored, once graded.
    pub score: Option<i64>,
    /// Total points available, once graded.
    pub max_score: Option<i64>,
    /// Whether it passed, once graded.
    pub passed: Option<bool>,
}

/// A task of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamTask {
    /// Task id.
    pub task_id: String,
    /// Where its setup stands.
    pub setup_state: SetupState,
    /// What setup did, or why it failed.
    pub setup_detail: String,
    /// Flagged for review.
    pub flagged: bool,
    /// The graded verdict.
    pub verdict: Option<Verdict>,
    /// Seconds the learner spent on it.
    pub seconds_spent: Option<i64>,
}

/// One task's grading result, to store.
#[derive(Debug, Clone)]
pub struct GradedTask {
    /// Task id.
    pub task: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Seconds spent.
    pub seconds: i64,
}

/// The totals of a graded attempt, to store.
#[derive(Debug, Clone, Copy)]
pub struct Grade {
    /// Points scored.
    pub score: u32,
    /// Points available.
    pub max: u32,
    /// Passed the mark.
    pub passed: bool,
}

/// When and how a grade was given, to store with it.
#[derive(Debug, Clone, Copy)]
pub struct Grading<'a> {
    /// When grading finished.
    pub at: i64,
    /// Why it came late, if it did.
    pub late_reason: Option<&'a str>,
    /// The content digest the verdicts were judged against.
    pub digest: &'a str,
    /// Updates an already graded attempt (re-grading) instead of finishing one.
    pub regrade: bool,
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: i64,
    learner_id: String,
    exam_id: String,
    status: Status,
    definition: String,
    content_digest: String,
    graded_digest: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    deadline_at: Option<i64>,
    submitted_at: Option<i64>,
    ended_at: Option<i64>,
    graded_at: Option<i64>,
    late_reason: Option<String>,
    regraded_at: Option<i64>,
    score: Option<i64>,
    max_score: Option<i64>,
    passed: Option<bool>,
}

macro_rules! attempt_columns {
    () => {
        "id, learner_id, exam_id, status, definition, content_digest, graded_digest, created_at, started_at, \
         deadline_at, submitted_at, ended_at, graded_at, late_reason, regraded_at, score, \
         max_score, passed"
    };
}

impl TryFrom<AttemptRow> for ExamAttempt {
    type Error = StoreError;

    fn try_from(row: AttemptRow) -> Result<ExamAttempt, StoreError> {
        let definition = serde_json::from_str(&row.definition)
            .map_err(|_| corrupt("exam attempt definition"))?;
        let timer = match (row.started_at, row.deadline_at) {
            (Some(started_at), Some(deadline_at)) => Some(Timer {
                started_at,
                deadline_at,
            }),
            _ => None,
        };
        Ok(ExamAttempt {
            id: row.id,
            learner_id: row.learner_id,
            exam_id: row.exam_id,
            status: row.status,
            definition,
            content_digest: row.content_digest,
            graded_digest: row.graded_digest,
            created_at: row.created_at,
            timer,
            submitted_at: row.submitted_at,
            ended_at: row.ended_at,
            graded_at: row.graded_at,
            late_reason: row.late_reason,
            regraded_at: row.regraded_at,
            score: row.score,
            max_score: row.max_score,
            passed: row.passed,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    task_id: String,
    setup_state: SetupState,
    setup_detail: String,
    flagged: bool,
    verdict: Option<String>,
    seconds_spent: Option<i64>,
}

impl Store {
    /// Creates an attempt in `preparing` with its tasks pending, unless the learner already
    /// has an unfinished attempt at this exam (then that one is returned: one clock per exam).
    pub async fn create_exam_attempt(
        &self,
        learner: &LearnerId,
        definition: &ExamSnapshot,
        content_digest: &str,
        now: i64,
    ) -> Result<(i64, bool), StoreError> {
        let json = serde_json::to_string(definition).map_err(encode)?;
        let mut tx = self.pool.begin().await?;
        super::learners::touch(&mut tx, learner, now).await?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM exam_attempts WHERE learner_id = ? AND exam_id = ? AND status <> 'graded' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(learner.as_str())
        .bind(&definition.id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = open {
            tx.commit().await?;
            return Ok((id, false));
        }
        let id = sqlx::query(
            "INSERT INTO exam_attempts (learner_id, exam_id, status, definition, content_digest, created_at) \
             VALUES (?, ?, 'preparing', ?, ?, ?)",
        )
        .bind(learner.as_str())
        .bind(&definition.id)
        .bind(json)
        .bind(content_digest)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for (position, task) in definition.tasks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO exam_attempt_tasks (attempt_id, task_id, position) VALUES (?, ?, ?)",
            )
            .bind(id)
            .bind(&task.task)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((id, true))
    }

    /// An attempt by id, whoever owns it (for the grader).
    pub async fn exam_attempt(&self, id: i64) -> Result<Option<ExamAttempt>, StoreError> {
        sqlx::query_as::<_, AttemptRow>(concat!(
            "SELECT ",
            attempt_columns!(),
            " FROM exam_attempts WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(ExamAttempt::try_from)
        .transpose()
    }

    /// An attempt by id if `learner` owns it.
    pub async fn own_exam_attempt(
        &self,
        learner: &LearnerId,
        id: i64,
    ) -> Result<Option<ExamAttempt>, StoreError> {
        Ok(self
            .exam_attempt(id)
            .await?
            .filter(|a| a.learner_id == learner.as_str()))
    }

    /// Attempts that are not graded yet, for recovery at start-up. A row that no longer
    /// decodes is logged and skipped, so it cannot hold up everyone else's recovery.
    pub async fn unfinished_exam_attempts(&self) -> Result<Vec<ExamAttempt>, StoreError> {
        Ok(sqlx::query_as::<_, AttemptRow>(concat!(
            "SELECT ",
            attempt_columns!(),
            " FROM exam_attempts WHERE status <> 'graded' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .filter_map(|row| {
            let id = row.id;
            ExamAttempt::try_from(row)
                .inspect_err(|err| tracing::error!(attempt = id, error = %err, "skipping an unreadable exam attempt"))
                .ok()
        })
        .collect())
    }

    /// The exam attempt (not yet graded) that includes `task`, if the learner has one: while
    /// it lasts, the task's hints, solution and checks are closed to them.
    pub async fn exam_holding_task(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT a.id FROM exam_attempts a JOIN exam_attempt_tasks t ON t.attempt_id = a.id \
             WHERE a.learner_id = ? AND a.status <> 'graded' AND t.task_id = ? ORDER BY a.id DESC LIMIT 1",
        )
        .bind(learner.as_str())
        .bind(task)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The learner's attempts at an exam, newest first.
    pub async fn exam_history(
        &self,
        learner: &LearnerId,
        exam: &str,
    ) -> Result<Vec<ExamAttempt>, StoreError> {
        sqlx::query_as::<_, AttemptRow>(concat!(
            "SELECT ",
            attempt_columns!(),
            " FROM exam_attempts WHERE learner_id = ? AND exam_id = ? ORDER BY id DESC LIMIT 50"
        ))
        .bind(learner.as_str())
        .bind(exam)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(ExamAttempt::try_from)
        .collect()
    }

    /// The tasks of an attempt, in exam order.
    pub async fn exam_tasks(&self, attempt: i64) -> Result<Vec<ExamTask>, StoreError> {
        let rows = sqlx::query_as::<_, TaskRow>(
            "SELECT task_id, setup_state, setup_detail, flagged, verdict, seconds_spent \
             FROM exam_attempt_tasks WHERE attempt_id = ? ORDER BY position",
        )
        .bind(attempt)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| ExamTask {
                task_id: row.task_id,
                setup_state: row.setup_state,
                setup_detail: row.setup_detail,
                flagged: row.flagged,
                // A verdict that no longer parses shows as not graded rather than failing the page.
                verdict: row.verdict.and_then(|v| serde_json::from_str(&v).ok()),
                seconds_spent: row.seconds_spent,
            })
            .collect())
    }

    /// Records a task's setup state.
    pub async fn set_exam_setup(
        &self,
        attempt: i64,
        task: &str,
        state: SetupState,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE exam_attempt_tasks SET setup_state = ?, setup_detail = ? WHERE attempt_id = ? AND task_id = ?",
        )
        .bind(state)
        .bind(detail)
        .bind(attempt)
        .bind(task)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a failed task setup as running again, once: true for the one caller that wins.
    pub async fn claim_exam_setup(&self, attempt: i64, task: &str) -> Result<bool, StoreError> {
        self.changed_one(
            sqlx::query(
                "UPDATE exam_attempt_tasks SET setup_state = ?, setup_detail = 'setting up again' \
             WHERE attempt_id = ? AND task_id = ? AND setup_state = ?",
            )
            .bind(SetupState::Running)
            .bind(attempt)
            .bind(task)
            .bind(SetupState::Failed),
        )
        .await
    }

    /// Gives a claimed grading back (`grading` to `running`) after it failed, so the next
    /// request or the scheduler's retry can grade again.
    pub async fn release_exam_grading(&self, attempt: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE exam_attempts SET status = 'running' WHERE id = ? AND status = 'grading'",
        )
        .bind(attempt)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Starts the clock of a preparing attempt; false if it was not preparing or is held.
    pub async fn start_exam_clock(&self, attempt: i64, timer: Timer) -> Result<bool, StoreError> {
        // The hold is part of the same statement: a class exam's clock is started only by
        // [`Store::start_held_exam_clock`], never by a preparation that finished meanwhile.
        self.changed_one(
            sqlx::query(
                "UPDATE exam_attempts SET status = 'running', started_at = ?, deadline_at = ? \
             WHERE id = ? AND status = 'preparing' \
             AND NOT EXISTS (SELECT 1 FROM exam_holds WHERE attempt_id = exam_attempts.id)",
            )
            .bind(timer.started_at)
            .bind(timer.deadline_at)
            .bind(attempt),
        )
        .await
    }

    /// Releases a held attempt and starts its clock in one transaction; false if it was not
    /// held (any more) or is no longer preparing.
    pub async fn start_held_exam_clock(
        &self,
        attempt: i64,
        timer: Timer,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let released = sqlx::query("DELETE FROM exam_holds WHERE attempt_id = ?")
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !released {
            tx.commit().await?;
            return Ok(false);
        }
        let started = sqlx::query(
            "UPDATE exam_attempts SET status = 'running', started_at = ?, deadline_at = ? \
             WHERE id = ? AND status = 'preparing'",
        )
        .bind(timer.started_at)
        .bind(timer.deadline_at)
        .bind(attempt)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(started)
    }

    /// Makes a preparing attempt's clock wait for [`Store::start_held_exam_clock`].
    pub async fn hold_exam(&self, attempt: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO exam_holds (attempt_id) VALUES (?) ON CONFLICT DO NOTHING")
            .bind(attempt)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the attempt's clock waits to be started.
    pub async fn exam_held(&self, attempt: i64) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM exam_holds WHERE attempt_id = ?")
            .bind(attempt)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Moves a running attempt's deadline later, while it has not passed; false otherwise.
    pub async fn extend_exam(
        &self,
        attempt: i64,
        deadline_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.changed_one(
            sqlx::query(
                "UPDATE exam_attempts SET deadline_at = ? \
                 WHERE id = ? AND status = 'running' AND deadline_at >= ? AND deadline_at < ?",
            )
            .bind(deadline_at)
            .bind(attempt)
            .bind(now)
            .bind(deadline_at),
        )
        .await
    }

    /// Sets a task's review flag while the attempt runs and its deadline has not passed.
    pub async fn flag_exam_task(
        &self,
        attempt: i64,
        task: &str,
        flagged: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query(
            "UPDATE exam_attempt_tasks SET flagged = ? WHERE attempt_id = ? AND task_id = ? \
             AND EXISTS (SELECT 1 FROM exam_attempts a WHERE a.id = ? AND a.status = 'running' AND a.deadline_at >= ?)",
        )
        .bind(flagged)
        .bind(attempt)
        .bind(task)
        .bind(attempt)
        .bind(now);
        self.changed_one(query).await
    }

    /// Records that the learner opened a task at `at`. Switches within one second replace
    /// each other, so an attempt holds at most one view per second of the exam however fast
    /// a client switches.
    pub async fn record_exam_view(
        &self,
        attempt: i64,
        task: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let replaced = sqlx::query(
            "UPDATE exam_task_views SET task_id = ? \
             WHERE rowid = (SELECT max(rowid) FROM exam_task_views WHERE attempt_id = ?) AND at >= ?",
        )
        .bind(task)
        .bind(attempt)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if replaced == 0 {
            sqlx::query("INSERT INTO exam_task_views (attempt_id, task_id, at) VALUES (?, ?, ?)")
                .bind(attempt)
                .bind(task)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every task view of an attempt, oldest first.
    pub async fn exam_views(&self, attempt: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as::<_, (String, i64)>(
            "SELECT task_id, at FROM exam_task_views WHERE attempt_id = ? ORDER BY at, rowid",
        )
        .bind(attempt)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves a running attempt to `grading`, once: true for the one caller that wins.
    /// `ended_at` is the deadline or the submission; `submitted` marks an early submission.
    pub async fn claim_exam_grading(
        &self,
        attempt: i64,
        ended_at: i64,
        submitted: bool,
    ) -> Result<bool, StoreError> {
        self.changed_one(
            sqlx::query(
                "UPDATE exam_attempts SET status = 'grading', ended_at = ?, \
             submitted_at = CASE WHEN ? THEN ? ELSE submitted_at END \
             WHERE id = ? AND status = 'running'",
            )
            .bind(ended_at)
            .bind(submitted)
            .bind(ended_at)
            .bind(attempt),
        )
        .await
    }

    /// Stores the verdicts and totals of a grading attempt and marks it graded, in one
    /// transaction. With `regrade`, an already graded attempt is updated instead.
    pub async fn store_exam_grade(
        &self,
        attempt: i64,
        tasks: &[GradedTask],
        grade: Grade,
        grading: Grading<'_>,
    ) -> Result<(), StoreError> {
        let Grading {
            at: graded_at,
            late_reason,
            digest: graded_digest,
            regrade,
        } = grading;
        let mut tx = self.pool.begin().await?;
        for task in tasks {
            let verdict = serde_json::to_string(&task.verdict).map_err(encode)?;
            sqlx::query(
                "UPDATE exam_attempt_tasks SET verdict = ?, score = ?, max_score = ?, seconds_spent = ? \
                 WHERE attempt_id = ? AND task_id = ?",
            )
            .bind(verdict)
            .bind(i64::from(task.verdict.score))
            .bind(i64::from(task.verdict.max_score))
            .bind(task.seconds)
            .bind(attempt)
            .bind(&task.task)
            .execute(&mut *tx)
            .await?;
        }
        // A re-grade keeps the first grading's time and late reason; both record the totals.
        let sql = if regrade {
            "UPDATE exam_attempts SET regraded_at = ?, late_reason = COALESCE(?, late_reason), \
             score = ?, max_score = ?, passed = ?, graded_digest = ? WHERE id = ? AND status = 'graded'"
        } else {
            "UPDATE exam_attempts SET status = 'graded', graded_at = ?, late_reason = ?, \
             score = ?, max_score = ?, passed = ?, graded_digest = ? WHERE id = ? AND status = 'grading'"
        };
        sqlx::query(sql)
            .bind(graded_at)
            .bind(late_reason)
            .bind(i64::from(grade.score))
            .bind(i64::from(grade.max))
            .bind(grade.passed)
            .bind(graded_digest)
            .bind(attempt)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stored state reads back as itself, in the names the schema's CHECKs allow.
    #[tokio::test]
    async fn stored_states_round_trip() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        for (status, name) in [
            (Status::Preparing, "preparing"),
            (Status::Running, "running"),
            (Status::Grading, "grading"),
            (Status::Graded, "graded"),
        ] {
            let text: String = sqlx::query_scalar("SELECT ?")
                .bind(status)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(text, name);
            let back: Status = sqlx::query_scalar("SELECT ?")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(back, status);
        }
        for state in [
            SetupState::Pending,
            SetupState::Running,
            SetupState::Ok,
            SetupState::Failed,
        ] {
            let back: SetupState = sqlx::query_scalar("SELECT ?")
                .bind(state.as_str())
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(back, state);
        }
        let unknown: Result<Status, _> =
            sqlx::query_scalar("SELECT 'paused'").fetch_one(&pool).await;
        assert!(unknown.is_err(), "an unknown stored status is an error");
    }
}

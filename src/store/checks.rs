//! Check runs: every verdict, with the content version it was judged against.

use crate::checks::{CriterionResult, Verdict};

use super::{LearnerId, Store, StoreError};

/// A stored check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    /// Row id.
    pub id: i64,
    /// When, in seconds since the epoch.
    pub ran_at: i64,
    /// The verdict as it was given.
    pub verdict: Verdict,
    /// Content digest it was judged against.
    pub content_digest: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    task_id: String,
    ran_at: i64,
    score: i64,
    max_score: i64,
    passed: bool,
    criteria: String,
    content_digest: String,
}

impl Store {
    /// Stores a verdict for a learner; committed before it returns.
    pub async fn record_check(
        &self,
        learner: &LearnerId,
        verdict: &Verdict,
        content_digest: &str,
        at: i64,
    ) -> Result<i64, StoreError> {
        let criteria = serde_json::to_string(&verdict.criteria).map_err(super::encode)?;
        let mut tx = self.pool.begin().await?;
        super::learners::touch(&mut tx, learner, at).await?;
        let id = sqlx::query(
            "INSERT INTO check_runs (learner_id, task_id, ran_at, score, max_score, passed, criteria, content_digest) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(learner.as_str())
        .bind(&verdict.task)
        .bind(at);
        let id = super::bind_score(id, verdict)
            .bind(criteria)
            .bind(content_digest)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
        self.commit_for(tx, learner).await?;
        Ok(id)
    }

    /// The learner's latest check of a task.
    pub async fn latest_check(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> Result<Option<CheckRun>, StoreError> {
        let row = sqlx::query_as::<_, Row>(
            "SELECT id, task_id, ran_at, score, max_score, passed, criteria, content_digest \
             FROM check_runs WHERE learner_id = ? AND task_id = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(learner.as_str())
        .bind(task)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| {
            // A row whose criteria no longer parse still shows its score.
            let criteria: Vec<CriterionResult> =
                serde_json::from_str(&row.criteria).unwrap_or_default();
            CheckRun {
                id: row.id,
                ran_at: row.ran_at,
                verdict: Verdict {
                    task: row.task_id,
                    score: u32::try_from(row.score).unwrap_or(0),
                    max_score: u32::try_from(row.max_score).unwrap_or(0),
                    passed: row.passed,
                    criteria,
                },
                content_digest: row.content_digest,
            }
        }))
    }

    /// The context a learner chose, if any.
    pub async fn learner_context(&self, learner: &LearnerId) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar::<_, String>(
            "SELECT context FROM learner_clusters WHERE learner_id = ?",
        )
        .bind(learner.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Binds a learner to a context (None: back to the server default).
    pub async fn set_learner_context(
        &self,
        learner: &LearnerId,
        context: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        super::learners::touch(&mut tx, learner, at).await?;
        match context {
            Some(context) => {
                sqlx::query(
                    "INSERT INTO learner_clusters (learner_id, context, updated_at) VALUES (?, ?, ?) \
                     ON CONFLICT (learner_id) DO UPDATE SET context = excluded.context, updated_at = excluded.updated_at",
                )
                .bind(learner.as_str())
                .bind(context)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM learner_clusters WHERE learner_id = ?")
                    .bind(learner.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        self.commit_for(tx, learner).await?;
        Ok(())
    }
}

//! Section progress and the best score per task.

use super::{LearnerId, Store, StoreError};

/// A section a learner marked done.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SectionDone {
    /// Lesson id.
    pub lesson_id: String,
    /// Section id.
    pub section_id: String,
    /// When, in seconds since the epoch.
    pub done_at: i64,
}

/// A learner's best check result for one task.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BestScore {
    /// Task id.
    pub task_id: String,
    /// Best score reached.
    pub score: i64,
    /// The maximum of that run.
    pub max_score: i64,
    /// How many checks were run.
    pub runs: i64,
}

impl Store {
    /// Marks a section done (`true`) or not done (`false`); idempotent, committed on return.
    pub async fn set_section_done(
        &self,
        learner: &LearnerId,
        lesson: &str,
        section: &str,
        done: bool,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        super::learners::touch(&mut tx, learner, at).await?;
        if done {
            sqlx::query(
                "INSERT INTO section_progress (learner_id, lesson_id, section_id, done_at) \
                 VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(learner.as_str())
            .bind(lesson)
            .bind(section)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "DELETE FROM section_progress WHERE learner_id = ? AND lesson_id = ? AND section_id = ?",
            )
            .bind(learner.as_str())
            .bind(lesson)
            .bind(section)
            .execute(&mut *tx)
            .await?;
        }
        self.commit_for(tx, learner).await?;
        Ok(())
    }

    /// Every section the learner marked done, across lessons.
    pub async fn sections_done(&self, learner: &LearnerId) -> Result<Vec<SectionDone>, StoreError> {
        Ok(sqlx::query_as::<_, SectionDone>(
            "SELECT lesson_id, section_id, done_at FROM section_progress \
             WHERE learner_id = ? ORDER BY lesson_id, done_at",
        )
        .bind(learner.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// The best score per task the learner has checked.
    pub async fn best_scores(&self, learner: &LearnerId) -> Result<Vec<BestScore>, StoreError> {
        Ok(sqlx::query_as::<_, BestScore>(
            "SELECT task_id, MAX(score) AS score, MAX(max_score) AS max_score, COUNT(*) AS runs \
             FROM check_runs WHERE learner_id = ? GROUP BY task_id ORDER BY task_id",
        )
        .bind(learner.as_str())
        .fetch_all(&self.pool)
        .await?)
    }
}

//! Clusters kubelab makes for workshops: their provisioning state, and their assignment to
//! members (a member's `cluster` is an environment's name).

use super::{LearnerId, Store, StoreError};

/// Where an environment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum EnvState {
    /// Being made; `step` says what is happening.
    Provisioning,
    /// Usable: `kubeconfig` reaches it.
    Ready,
    /// Making it failed; `error` says why.
    Failed,
    /// To be deleted (recycled, or its workshop ended).
    Deleting,
}

impl EnvState {
    /// The state's name, as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            EnvState::Provisioning => "provisioning",
            EnvState::Ready => "ready",
            EnvState::Failed => "failed",
            EnvState::Deleting => "deleting",
        }
    }
}

/// One stored environment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EnvironmentRow {
    /// Its name (the kind cluster, or the environment Pod).
    pub name: String,
    /// The workshop it was made for.
    pub workshop_id: i64,
    /// The provider that made it, as JSON.
    pub provider: String,
    /// Its state.
    pub state: EnvState,
    /// What provisioning is doing (or did last).
    pub step: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The kubeconfig file kubelab wrote for it, once ready.
    pub kubeconfig: Option<String>,
    /// When making it began.
    pub started_at: i64,
    /// When its state or step last changed.
    pub updated_at: i64,
}

const COLUMNS: &str =
    "name, workshop_id, provider, state, step, error, kubeconfig, started_at, updated_at";

impl Store {
    /// Records a new environment being made; false when the name is taken.
    pub async fn add_environment(
        &self,
        name: &str,
        workshop: i64,
        provider: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "INSERT INTO environments (name, workshop_id, provider, state, step, started_at, updated_at) \
             VALUES (?, ?, ?, 'provisioning', 'queued', ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(workshop)
        .bind(provider)
        .bind(at)
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// One environment.
    pub async fn environment(&self, name: &str) -> Result<Option<EnvironmentRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM environments WHERE name = ?"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A workshop's environments (deleting ones included), oldest first.
    pub async fn environments(&self, workshop: i64) -> Result<Vec<EnvironmentRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM environments WHERE workshop_id = ? ORDER BY started_at, rowid"
        )))
        .bind(workshop)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every environment in `state`, oldest first.
    pub async fn environments_in(
        &self,
        state: EnvState,
    ) -> Result<Vec<EnvironmentRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM environments WHERE state = ? ORDER BY started_at, rowid"
        )))
        .bind(state)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records a provisioning step (only while provisioning).
    pub async fn environment_step(
        &self,
        name: &str,
        step: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE environments SET step = ?, updated_at = ? WHERE name = ? AND state = 'provisioning'",
        )
        .bind(step)
        .bind(at)
        .bind(name)
        .execute(&self.pool)
        .await?;
        // The holder's pages show the step.
        self.invalidate_holder(name).await
    }

    /// Marks a provisioning environment ready with its kubeconfig, and gives it to the member
    /// who has waited longest when nobody holds it yet, in one transaction. Answers that
    /// member, if any; `None` too when it was no longer provisioning (recycled meanwhile).
    pub async fn environment_ready(
        &self,
        name: &str,
        kubeconfig: &str,
        at: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE environments SET state = 'ready', step = 'ready', error = NULL, kubeconfig = ?, updated_at = ? \
             WHERE name = ? AND state = 'provisioning' RETURNING workshop_id",
        )
        .bind(kubeconfig)
        .bind(at)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((workshop,)) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let held: Option<(String,)> = sqlx::query_as(
            "SELECT learner_id FROM workshop_members WHERE workshop_id = ? AND cluster = ?",
        )
        .bind(workshop)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let heir = match held {
            Some(_) => None,
            None => sqlx::query_as::<_, (String,)>(
                "UPDATE workshop_members SET cluster = ? WHERE rowid = (\
                   SELECT rowid FROM workshop_members WHERE workshop_id = ? AND cluster IS NULL \
                   ORDER BY joined_at, rowid LIMIT 1) RETURNING learner_id",
            )
            .bind(name)
            .bind(workshop)
            .fetch_optional(&mut *tx)
            .await?
            .map(|(id,)| id),
        };
        tx.commit().await?;
        if let Some(learner) = held
            .map(|(id,)| id)
            .as_deref()
            .or(heir.as_deref())
            .and_then(LearnerId::parse)
        {
            self.cache.invalidate(&learner);
        }
        Ok(heir)
    }

    /// Marks a provisioning environment failed, with the reason.
    pub async fn environment_failed(
        &self,
        name: &str,
        error: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE environments SET state = 'failed', error = ?, updated_at = ? \
             WHERE name = ? AND state = 'provisioning'",
        )
        .bind(error)
        .bind(at)
        .bind(name)
        .execute(&self.pool)
        .await?;
        self.invalidate_holder(name).await
    }

    /// Starts provisioning an environment again from the beginning (after a restart
    /// interrupted it).
    pub async fn environment_restarted(&self, name: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE environments SET state = 'provisioning', step = 'queued', error = NULL, \
             kubeconfig = NULL, started_at = ?, updated_at = ? WHERE name = ? AND state <> 'deleting'",
        )
        .bind(at)
        .bind(at)
        .bind(name)
        .execute(&self.pool)
        .await?;
        self.invalidate_holder(name).await
    }

    /// Marks an environment for deletion and takes it from whoever held it (they wait for
    /// another one), in one transaction; the member who lost it, if any.
    pub async fn recycle_environment(
        &self,
        name: &str,
        at: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE environments SET state = 'deleting', step = 'deleting', updated_at = ? WHERE name = ?",
        )
        .bind(at)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        let held: Option<(String,)> = sqlx::query_as(
            "UPDATE workshop_members SET cluster = NULL WHERE cluster = ? AND workshop_id = \
             (SELECT workshop_id FROM environments WHERE name = ?) RETURNING learner_id",
        )
        .bind(name)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let held = held.map(|(id,)| id);
        if let Some(learner) = held.as_deref().and_then(LearnerId::parse) {
            self.cache.invalidate(&learner);
        }
        Ok(held)
    }

    /// Marks every environment of a workshop for deletion (it was deleted or ended).
    pub async fn recycle_environments(&self, workshop: i64, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE environments SET state = 'deleting', step = 'deleting', updated_at = ? WHERE workshop_id = ?",
        )
        .bind(at)
        .bind(workshop)
        .execute(&self.pool)
        .await?;
        for member in self.workshop_members(workshop).await? {
            if let Some(learner) = LearnerId::parse(&member.learner_id) {
                self.cache.invalidate(&learner);
            }
        }
        Ok(())
    }

    /// Forgets an environment that is really gone.
    pub async fn remove_environment(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM environments WHERE name = ? AND state = 'deleting'")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives a waiting member the oldest unheld environment of their workshop that is ready,
    /// else the oldest still being made; the environment's name, if any was free.
    pub async fn take_environment(
        &self,
        workshop: i64,
        learner: &LearnerId,
    ) -> Result<Option<String>, StoreError> {
        let taken: Option<(Option<String>,)> = sqlx::query_as(
            "UPDATE workshop_members SET cluster = (\
               SELECT e.name FROM environments e WHERE e.workshop_id = ?1 \
               AND e.state IN ('ready', 'provisioning') \
               AND NOT EXISTS (SELECT 1 FROM workshop_members m WHERE m.workshop_id = ?1 AND m.cluster = e.name) \
               ORDER BY e.state = 'ready' DESC, e.started_at, e.rowid LIMIT 1) \
             WHERE workshop_id = ?1 AND learner_id = ?2 AND cluster IS NULL RETURNING cluster",
        )
        .bind(workshop)
        .bind(learner.as_str())
        .fetch_optional(&self.pool)
        .await?;
        self.cache.invalidate(learner);
        Ok(taken.and_then(|(c,)| c))
    }

    /// Forgets the cached page data of whoever holds the environment.
    async fn invalidate_holder(&self, name: &str) -> Result<(), StoreError> {
        let held: Option<(String,)> =
            sqlx::query_as("SELECT learner_id FROM workshop_members WHERE cluster = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(learner) = held.as_ref().and_then(|(id,)| LearnerId::parse(id)) {
            self.cache.invalidate(&learner);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every state reads back as itself, in the names the schema's CHECK allows.
    #[tokio::test]
    async fn states_round_trip() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        for (state, name) in [
            (EnvState::Provisioning, "provisioning"),
            (EnvState::Ready, "ready"),
            (EnvState::Failed, "failed"),
            (EnvState::Deleting, "deleting"),
        ] {
            let text: String = sqlx::query_scalar("SELECT ?")
                .bind(state)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(text, name);
        }
    }
}

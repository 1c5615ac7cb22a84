//! Workshops, their members and clusters, and instructor sessions.

use super::{LearnerId, Store, StoreError};

/// A stored workshop.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WorkshopRow {
    /// Id.
    pub id: i64,
    /// Title shown to the class.
    pub title: String,
    /// The join code.
    pub code: String,
    /// The lesson it teaches.
    pub lesson: String,
    /// Task ids, as JSON.
    pub tasks: String,
    /// The environment provider, as JSON.
    pub provider: String,
    /// Most members, if limited.
    pub capacity: Option<i64>,
    /// When it ends (Unix seconds), if set.
    pub ends_at: Option<i64>,
    /// When it was created.
    pub created_at: i64,
}

/// A member of a workshop.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    /// The workshop.
    pub workshop_id: i64,
    /// The learner.
    pub learner_id: String,
    /// The name they gave when joining.
    pub display_name: String,
    /// When they joined.
    pub joined_at: i64,
    /// Their cluster (a provider's name for it), once assigned.
    pub cluster: Option<String>,
}

/// What creating a workshop needs.
#[derive(Debug, Clone)]
pub struct NewWorkshop<'a> {
    /// Title.
    pub title: &'a str,
    /// Join code (unique).
    pub code: &'a str,
    /// Lesson id.
    pub lesson: &'a str,
    /// Task ids, as JSON.
    pub tasks: &'a str,
    /// Provider, as JSON.
    pub provider: &'a str,
    /// Most members.
    pub capacity: Option<i64>,
    /// End time.
    pub ends_at: Option<i64>,
}

const WORKSHOP_COLUMNS: &str =
    "id, title, code, lesson, tasks, provider, capacity, ends_at, created_at";

impl Store {
    /// Creates a workshop; `None` when the code is taken.
    pub async fn create_workshop(
        &self,
        new: &NewWorkshop<'_>,
        at: i64,
    ) -> Result<Option<i64>, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO workshops (title, code, lesson, tasks, provider, capacity, ends_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
        )
        .bind(new.title)
        .bind(new.code)
        .bind(new.lesson)
        .bind(new.tasks)
        .bind(new.provider)
        .bind(new.capacity)
        .bind(new.ends_at)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok((inserted.rows_affected() == 1).then(|| inserted.last_insert_rowid()))
    }

    /// Every workshop, newest first.
    pub async fn workshops(&self) -> Result<Vec<WorkshopRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSHOP_COLUMNS} FROM workshops ORDER BY id DESC"
        )))
        .fetch_all(&self.pool)
        .await?)
    }

    /// One workshop by id.
    pub async fn workshop(&self, id: i64) -> Result<Option<WorkshopRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSHOP_COLUMNS} FROM workshops WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// One workshop by join code.
    pub async fn workshop_by_code(&self, code: &str) -> Result<Option<WorkshopRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSHOP_COLUMNS} FROM workshops WHERE code = ?"
        )))
        .bind(code)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes a workshop and its memberships; whether it existed.
    pub async fn delete_workshop(&self, id: i64) -> Result<bool, StoreError> {
        let members = self.workshop_members(id).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM workshop_hints WHERE workshop_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM workshop_messages WHERE workshop_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM workshop_members WHERE workshop_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM workshops WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        // Their pages showed the workshop's cluster: forget the cached snapshots.
        for m in members {
            if let Some(learner) = LearnerId::parse(&m.learner_id) {
                self.cache.invalidate(&learner);
            }
        }
        Ok(gone)
    }

    /// Members of a workshop, in joining order.
    pub async fn workshop_members(&self, id: i64) -> Result<Vec<MemberRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT workshop_id, learner_id, display_name, joined_at, cluster \
             FROM workshop_members WHERE workshop_id = ? ORDER BY joined_at, rowid",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The learner's membership in the workshop they joined last, if any.
    pub async fn membership(&self, learner: &LearnerId) -> Result<Option<MemberRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT workshop_id, learner_id, display_name, joined_at, cluster \
             FROM workshop_members WHERE learner_id = ? ORDER BY joined_at DESC, rowid DESC LIMIT 1",
        )
        .bind(learner.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Adds (or renames) a member, giving them the first of `clusters` no other member holds
    /// (kept if they had one); all in one transaction, so two joins never share a cluster.
    pub async fn join_workshop(
        &self,
        workshop: i64,
        learner: &LearnerId,
        display_name: &str,
        clusters: &[String],
        at: i64,
    ) -> Result<MemberRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        super::learners::touch(&mut tx, learner, at).await?;
        sqlx::query(
            "INSERT INTO workshop_members (workshop_id, learner_id, display_name, joined_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (workshop_id, learner_id) DO UPDATE SET display_name = excluded.display_name",
        )
        .bind(workshop)
        .bind(learner.as_str())
        .bind(display_name)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let current: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT cluster FROM workshop_members WHERE workshop_id = ? AND learner_id = ?",
        )
        .bind(workshop)
        .bind(learner.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if current.and_then(|(c,)| c).is_none() {
            let taken: Vec<(String,)> = sqlx::query_as(
                "SELECT cluster FROM workshop_members WHERE workshop_id = ? AND cluster IS NOT NULL",
            )
            .bind(workshop)
            .fetch_all(&mut *tx)
            .await?;
            if let Some(free) = clusters.iter().find(|c| !taken.iter().any(|(t,)| t == *c)) {
                sqlx::query(
                    "UPDATE workshop_members SET cluster = ? WHERE workshop_id = ? AND learner_id = ?",
                )
                .bind(free)
                .bind(workshop)
                .bind(learner.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        let member: MemberRow = sqlx::query_as(
            "SELECT workshop_id, learner_id, display_name, joined_at, cluster \
             FROM workshop_members WHERE workshop_id = ? AND learner_id = ?",
        )
        .bind(workshop)
        .bind(learner.as_str())
        .fetch_one(&mut *tx)
        .await?;
        self.commit_for(tx, learner).await?;
        Ok(member)
    }

    /// Stores a message to a workshop's learners (`to`: one learner, else everyone) and
    /// forgets the recipients' cached pages.
    pub async fn add_workshop_message(
        &self,
        workshop: i64,
        to: Option<&LearnerId>,
        text: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workshop_messages (workshop_id, learner_id, text, at) VALUES (?, ?, ?, ?)",
        )
        .bind(workshop)
        .bind(to.map(LearnerId::as_str))
        .bind(text)
        .bind(at)
        .execute(&self.pool)
        .await?;
        let members = self.workshop_members(workshop).await?;
        for m in members {
            if let Some(learner) = LearnerId::parse(&m.learner_id)
                && to.is_none_or(|t| *t == learner)
            {
                self.cache.invalidate(&learner);
            }
        }
        Ok(())
    }

    /// The latest messages a learner got from their workshop (newest first, at most three).
    pub async fn messages_for(&self, learner: &LearnerId) -> Result<Vec<String>, StoreError> {
        let Some(member) = self.membership(learner).await? else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT text FROM workshop_messages WHERE workshop_id = ? AND (learner_id IS NULL OR learner_id = ?) \
             ORDER BY id DESC LIMIT 3",
        )
        .bind(member.workshop_id)
        .bind(learner.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    /// Opens one more hint of a task for the class, up to `total`; the number now open.
    pub async fn reveal_hint(
        &self,
        workshop: i64,
        task: &str,
        total: i64,
    ) -> Result<i64, StoreError> {
        sqlx::query(
            "INSERT INTO workshop_hints (workshop_id, task_id, revealed) VALUES (?, ?, 1) \
             ON CONFLICT (workshop_id, task_id) DO UPDATE SET revealed = min(revealed + 1, ?)",
        )
        .bind(workshop)
        .bind(task)
        .bind(total)
        .execute(&self.pool)
        .await?;
        self.hints_revealed(workshop, task).await
    }

    /// How many hints of a task the class has been shown.
    pub async fn hints_revealed(&self, workshop: i64, task: &str) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT revealed FROM workshop_hints WHERE workshop_id = ? AND task_id = ?",
        )
        .bind(workshop)
        .bind(task)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or(0, |(n,)| n))
    }

    /// Removes a member; their cluster goes to the member who has waited longest, if any.
    /// Answers the freed cluster and who got it.
    pub async fn remove_member(
        &self,
        workshop: i64,
        learner: &LearnerId,
    ) -> Result<Option<(Option<String>, Option<String>)>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let gone: Option<(Option<String>,)> = sqlx::query_as(
            "DELETE FROM workshop_members WHERE workshop_id = ? AND learner_id = ? RETURNING cluster",
        )
        .bind(workshop)
        .bind(learner.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((cluster,)) = gone else {
            return Ok(None);
        };
        let mut heir = None;
        if let Some(cluster) = &cluster {
            heir = sqlx::query_as::<_, (String,)>(
                "UPDATE workshop_members SET cluster = ? WHERE rowid = (\
                   SELECT rowid FROM workshop_members WHERE workshop_id = ? AND cluster IS NULL \
                   ORDER BY joined_at, rowid LIMIT 1) RETURNING learner_id",
            )
            .bind(cluster)
            .bind(workshop)
            .fetch_optional(&mut *tx)
            .await?
            .map(|(id,)| id);
        }
        tx.commit().await?;
        self.cache.invalidate(learner);
        if let Some(id) = heir.as_deref().and_then(LearnerId::parse) {
            self.cache.invalidate(&id);
        }
        Ok(Some((cluster, heir)))
    }

    /// Records a new instructor session by the hash of its cookie.
    pub async fn add_instructor_session(&self, hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO instructor_sessions (token_hash, created_at) VALUES (?, ?)")
            .bind(hash)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a session hash is known and not revoked.
    pub async fn instructor_session_valid(&self, hash: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM instructor_sessions WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Revokes a session for good.
    pub async fn revoke_instructor_session(&self, hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE instructor_sessions SET revoked_at = ? WHERE token_hash = ?")
            .bind(at)
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

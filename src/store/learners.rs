//! Learners: a random id from a cookie and an optional display name.

use super::{Store, StoreError};

/// A learner id: 32 lowercase hex characters (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LearnerId(String);

impl LearnerId {
    /// A fresh random id.
    pub fn generate() -> Result<LearnerId, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(LearnerId(
            bytes.iter().map(|b| format!("{b:02x}")).collect(),
        ))
    }

    /// Accepts only the exact shape `generate` produces.
    pub fn parse(text: &str) -> Option<LearnerId> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| LearnerId(text.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored learner.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Learner {
    /// The cookie id.
    pub id: String,
    /// The name they chose, if any.
    pub display_name: Option<String>,
}

impl Store {
    /// The learner's row, if they have written anything yet.
    pub async fn learner(&self, id: &LearnerId) -> Result<Option<Learner>, StoreError> {
        Ok(
            sqlx::query_as::<_, Learner>("SELECT id, display_name FROM learners WHERE id = ?")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Sets or clears (`None`) the learner's display name.
    pub async fn set_display_name(
        &self,
        id: &LearnerId,
        name: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO learners (id, display_name, created_at, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, updated_at = excluded.updated_at",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(at)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.cache.invalidate(id);
        Ok(())
    }
}

/// Creates the learner's row if needed and marks them active, inside a write transaction.
impl super::Store {
    /// Whether the learner has been stored (wrote something before).
    pub async fn learner_exists(&self, learner: &LearnerId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM learners WHERE id = ?")
            .bind(learner.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

pub(super) async fn touch(
    tx: &mut sqlx::SqliteConnection,
    learner: &LearnerId,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO learners (id, created_at, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
    )
    .bind(learner.as_str())
    .bind(at)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_junk() {
        let id = LearnerId::generate().unwrap();
        assert_eq!(LearnerId::parse(id.as_str()), Some(id));
        assert!(LearnerId::parse("../../etc").is_none());
        assert!(LearnerId::parse(&"A".repeat(32)).is_none());
    }
}

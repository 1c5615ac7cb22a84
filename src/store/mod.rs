//! SQLite through sqlx: the one place with SQL. Writes commit before they return.

mod cache;
mod checks;
mod exams;
mod learners;
mod practice;
mod progress;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use cache::LearnerSnapshot;
pub use checks::CheckRun;
pub use exams::{ExamAttempt, ExamTask, Grade, GradedTask, Grading};
pub use learners::LearnerId;
pub use practice::PracticeAttempt;
pub use progress::{BestScore, SectionDone};

/// The migrations under migrations/, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long a write waits for a lock held by another connection before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Storage failures, as the rest of the app needs to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database stayed locked past the busy timeout.
    #[error("the database is busy; try again in a moment")]
    Busy,
    /// The database file could not be opened or created.
    #[error("cannot open the database at {path}: {source}")]
    Open {
        /// The path tried.
        path: String,
        /// Why it failed.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed (e.g. a database from a newer kubelab).
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// Creating the database's folder failed.
    #[error("cannot create {path}: {source}")]
    Dir {
        /// The folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let busy = err
            .as_database_error()
            .and_then(|db| db.code())
            .is_some_and(|code| {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6) and their extended codes.
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
            });
        if busy {
            StoreError::Busy
        } else {
            StoreError::Db(err)
        }
    }
}

/// The progress database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    cache: std::sync::Arc<cache::SnapshotCache>,
}

impl Store {
    /// Opens (creating if needed) the database file, in WAL mode, and runs migrations.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_busy_timeout(path, BUSY_TIMEOUT).await
    }

    /// Like [`Store::open`], with how long a statement waits on a locked database.
    pub async fn open_with_busy_timeout(
        path: &Path,
        busy_timeout: Duration,
    ) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(StoreError::from)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the response that reports it leaves.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            cache: Default::default(),
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A statement with its arguments, as sqlx builds it for SQLite.
type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Binds a verdict's score, maximum and pass, in that order (they are stored side by side).
fn bind_score<'q>(query: Query<'q>, verdict: &crate::checks::Verdict) -> Query<'q> {
    query
        .bind(i64::from(verdict.score))
        .bind(i64::from(verdict.max_score))
        .bind(verdict.passed)
}

impl Store {
    /// Commits a learner's write and forgets their cached snapshot, in that order.
    async fn commit_for(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Sqlite>,
        learner: &LearnerId,
    ) -> Result<(), StoreError> {
        tx.commit().await?;
        self.cache.invalidate(learner);
        Ok(())
    }

    /// Runs a conditional write; true when it changed exactly one row (the one caller that won).
    async fn changed_one(&self, query: Query<'_>) -> Result<bool, StoreError> {
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }
}

/// A value that could not be turned into JSON for storage.
fn encode(err: serde_json::Error) -> StoreError {
    StoreError::Db(sqlx::Error::Encode(Box::new(err)))
}

/// A stored value that no longer reads back.
fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(what.to_string().into()))
}

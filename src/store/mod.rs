//! SQLite through sqlx: the one place with SQL. Writes commit before they return.

mod cache;
mod checks;
mod environments;
mod exams;
mod learners;
mod practice;
mod progress;
mod workshops;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use cache::LearnerSnapshot;
pub use checks::CheckRun;
pub use environments::{EnvState, EnvironmentRow};
pub use exams::{ExamAttempt, ExamTask, Grade, GradedTask, Grading};
pub use learners::LearnerId;
pub use practice::PracticeAttempt;
pub use progress::{BestScore, SectionDone};
pub use workshops::{MemberRow, NewWorkshop, WorkshopRow};

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
    /// The write was not saved because the database cannot be written (disk full, read-only
    /// file, I/O error); nothing was acknowledged.
    #[error(
        "not saved: the server cannot write its database ({reason}); try again once it is fixed"
    )]
    Unwritable {
        /// Why, in words.
        reason: &'static str,
    },
    /// The database file fails SQLite's integrity check.
    #[error(
        "the database at {path} is damaged ({detail}); move it away to start with a fresh one, or recover what it holds with `sqlite3 {path} .recover | sqlite3 recovered.db`"
    )]
    Damaged {
        /// The file.
        path: String,
        /// What SQLite's check reported first.
        detail: String,
    },
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
        let code = err
            .as_database_error()
            .and_then(|db| db.code())
            .and_then(|code| code.parse::<i32>().ok());
        // Primary result codes (the low byte of extended ones).
        match code.map(|c| c & 0xff) {
            Some(5 | 6) => StoreError::Busy,
            Some(13) => StoreError::Unwritable {
                reason: "its disk is full",
            },
            Some(8) => StoreError::Unwritable {
                reason: "its database file is read-only",
            },
            Some(10) => StoreError::Unwritable {
                reason: "a disk I/O error",
            },
            Some(11 | 26) => StoreError::Unwritable {
                reason: "its database file is damaged",
            },
            _ => StoreError::Db(err),
        }
    }
}

/// How a [`Store`] opens its database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a statement waits on a locked database before [`StoreError::Busy`].
    pub busy_timeout: Duration,
    /// The most pages the database may grow to, read before each use: simulates a small
    /// disk that fills up and gets space back (tests of the disk-full path); `None` in use.
    pub page_limit: Option<std::sync::Arc<std::sync::atomic::AtomicU32>>,
}

/// The progress database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    cache: std::sync::Arc<cache::SnapshotCache>,
    /// The folder that holds the database file.
    dir: std::path::PathBuf,
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
        Store::open_with(
            path,
            StoreOptions {
                busy_timeout,
                page_limit: None,
            },
        )
        .await
    }

    /// Like [`Store::open`], with every option.
    pub async fn open_with(path: &Path, store_options: StoreOptions) -> Result<Store, StoreError> {
        let StoreOptions {
            busy_timeout,
            page_limit,
        } = store_options;
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
            // A connection whose transaction could not be finished (a failed COMMIT or
            // ROLLBACK on a full disk) must never serve another request: its next
            // "transaction" would be a savepoint inside the stuck one, acknowledged but never
            // committed, holding the write lock. Flush the pending rollback, then drop the
            // connection if it is still inside a transaction.
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Connection as _;
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .before_acquire(move |conn, _meta| {
                let limit = page_limit
                    .as_ref()
                    .map(|l| l.load(std::sync::atomic::Ordering::Relaxed));
                Box::pin(async move {
                    if let Some(pages) = limit {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "PRAGMA max_page_count = {pages}"
                        )))
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        check_integrity(&pool, path).await?;
        MIGRATOR.run(&pool).await?;
        let store = Store {
            pool,
            cache: Default::default(),
            dir: path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| std::path::PathBuf::from("."), Path::to_path_buf),
        };
        // Refuse to start on a database that cannot be written, rather than acknowledge
        // nothing for the whole session.
        store.ping().await?;
        Ok(store)
    }

    /// The folder that holds the database file (where kubelab keeps files it makes).
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the database can be written: rewrites the health row and commits.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO health (id, checked_at) VALUES (1, unixepoch()) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite's own quick check of the file: a damaged database is refused at start, with the
/// way out, instead of failing one request at a time.
async fn check_integrity(pool: &SqlitePool, path: &Path) -> Result<(), StoreError> {
    let damaged = |detail: String| StoreError::Damaged {
        path: path.display().to_string(),
        detail,
    };
    let rows: Vec<(String,)> = sqlx::query_as("PRAGMA quick_check(1)")
        .fetch_all(pool)
        .await
        .map_err(|e| damaged(e.to_string()))?;
    match rows.first() {
        Some((first,)) if first == "ok" => Ok(()),
        Some((first,)) => Err(damaged(first.clone())),
        None => Err(damaged("no answer from quick_check".to_string())),
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

//! All server SQL: SQLite by default, PostgreSQL when the URL says so.
//!
//! The SQL text is shared: both dialects take `$N` parameters, `ON CONFLICT`
//! and `RETURNING`, and the schema differs only in column types
//! (`migrations/sqlite`, `migrations/postgres`, embedded and applied on
//! start). [`on_pool!`] runs one body against whichever pool is configured.
//! SQLite runs in WAL mode with `synchronous=FULL`: a committed transaction
//! survives a power cut. Handlers never see SQL; they call [`Store`] methods.

mod accounts;
mod backup;
mod documents;
mod faults;
mod photos;
mod publications;
mod reviews;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use accounts::*;
pub use backup::*;
pub use documents::*;
pub use faults::{CommitStep, FaultAction, Faults};
pub use photos::*;
pub use publications::*;
pub use reviews::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A document changed between reading and committing; the caller
    /// reads again and retries.
    #[error("document {0} changed while this request was merging into it")]
    Stale(String),
    #[error("fault injected at {0:?}")]
    Injected(CommitStep),
    #[error("stored document {doc}: {reason}")]
    Corrupt { doc: String, reason: String },
}

impl StoreError {
    /// A unique or check constraint was violated.
    pub fn is_constraint(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e))
            if e.is_unique_violation() || e.is_check_violation() || e.is_foreign_key_violation())
    }
}

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    /// How write transactions begin: SQLite takes the write lock at once
    /// (`IMMEDIATE`), so a transaction that reads and then writes never
    /// fails with "database is locked" half-way; PostgreSQL locks by row.
    pub fn begin_statement(&self) -> &'static str {
        match self {
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
            Pool::Postgres(_) => "BEGIN",
        }
    }
}

/// Run `$body` with `$p` bound to the SQLite or the PostgreSQL pool.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::storage::Pool::Sqlite($p) => $body,
            $crate::storage::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The server's storage.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    faults: Faults,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Connect to `database_url`, or to `jishi.db` in `data_dir` when none is
    /// given, and apply migrations.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        let pool = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                sqlx::migrate!("../migrations/postgres").run(&pool).await?;
                Pool::Postgres(pool)
            }
            other => {
                let options = match other {
                    Some(url) => SqliteConnectOptions::from_str(url)?,
                    None => SqliteConnectOptions::new().filename(data_dir.join("jishi.db")),
                }
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
                Pool::Sqlite(pool)
            }
        };
        Ok(Self {
            pool,
            faults: Faults::default(),
        })
    }

    pub fn dialect(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The crash-point tests' switch (see [`Faults`]).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(&self.pool, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(&self.pool, p => p.close().await)
    }

    /// Record a security event (refused change, token reuse, …).
    pub async fn security_event(
        &self,
        kind: &str,
        user: Option<&str>,
        device: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO security_events (at, kind, user_id, device_id, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(now_ms()).bind(kind).bind(user).bind(device).bind(detail)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn security_events(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        use sqlx::Row;
        let rows = on_pool!(&self.pool, p => sqlx::query(
            "SELECT COALESCE(user_id, ''), detail FROM security_events WHERE kind = $1 ORDER BY at")
            .bind(kind).fetch_all(p).await?.into_iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }
}

//! All server SQL: SQLite by default, PostgreSQL when the URL says so.
//!
//! The SQL text is shared: both dialects take `$N` parameters, `ON CONFLICT`
//! and `RETURNING`, and the schema differs only in column types
//! (`migrations/sqlite`, `migrations/postgres`, embedded and applied on
//! start). [`on_pool!`] runs one body against whichever pool is configured.
//! SQLite runs in WAL mode with `synchronous=FULL`: a committed transaction
//! survives a power cut. Handlers never see SQL; they call [`Store`] methods.

mod accounts;
mod attempts;
mod backup;
mod calendar;
mod cards;
mod cases;
mod changes;
mod documents;
mod faults;
mod items;
mod notices;
mod photos;
mod post_lists;
mod publications;
mod reviews;
mod streams;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection;

pub use accounts::*;
pub use attempts::{Attempts, WINDOW_MS};
pub use backup::*;
pub use calendar::{CalendarChangeRow, CalendarDayRow};
pub use cards::{CardRow, StatusRow};
pub use cases::CaseRow;
pub use changes::{DocChange, Feed};
pub use documents::*;
pub use faults::{CommitStep, FaultAction, Faults};
pub use items::{ItemFilter, ItemRow};
pub use notices::{Approval, NoticeSettings};
pub use photos::*;
pub use post_lists::{NewPostListVersion, PostListEntryRow, PostListRow, PostListSave};
pub use publications::*;
pub use reviews::*;
pub use streams::{StreamCap, StreamLease};

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
    /// A conflict with its own reason code for programs (a device or
    /// actor that is someone else's, a revoked device, a copied folder).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
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

    /// Whether this is the unique constraint on `table.column` (the primary
    /// key when `column` is `id`), from the database's own report:
    /// PostgreSQL names the constraint (`users_login_key`, `users_pkey`),
    /// SQLite the columns (`UNIQUE constraint failed: users.login`).
    pub fn violates_unique(&self, table: &str, column: &str) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        if !e.is_unique_violation() {
            return false;
        }
        match e.constraint() {
            Some(name) => {
                name == format!("{table}_{column}_key")
                    || (column == "id" && name == format!("{table}_pkey"))
            }
            None => e
                .message()
                .split_once("constraint failed: ")
                .is_some_and(|(_, cols)| {
                    cols.split(", ").any(|c| c == format!("{table}.{column}"))
                }),
        }
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

    /// How statements built at run time name their parameters here.
    pub(crate) fn params(&self) -> Params {
        match self {
            Pool::Sqlite(_) => Params::Anonymous,
            Pool::Postgres(_) => Params::Numbered,
        }
    }
}

/// How a statement built at run time writes its bound parameters.
///
/// PostgreSQL needs `$1, $2, …`. On SQLite those are named parameters, and
/// sqlx binds each one by asking SQLite its name, which SQLite finds by
/// scanning every name of the statement: quadratic in the parameters, and a
/// multi-row insert of a week's entries has over a thousand (5% of the
/// server's CPU under the Monday load). Anonymous `?` have no name to find;
/// they are bound in the order they appear, which is the order of the
/// `bind` calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Params {
    Numbered,
    Anonymous,
}

impl Params {
    /// Append parameter number `n` (from 1, in order of appearance).
    pub(crate) fn push(self, sql: &mut String, n: usize) {
        match self {
            Params::Numbered => {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            Params::Anonymous => sql.push('?'),
        }
    }

    /// `n` parameters from number `first`, comma-separated.
    pub(crate) fn list(self, first: usize, n: usize) -> String {
        let mut sql = String::with_capacity(n * 5);
        for i in first..first + n {
            if i > first {
                sql.push_str(", ");
            }
            self.push(&mut sql, i);
        }
        sql
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

/// Whether a connection coming back to the pool is still inside a
/// transaction; it is then closed (which rolls the transaction back) rather
/// than handed to the next request. sqlx can leak one when a request is
/// dropped (its client hung up) after SQLite ran the `BEGIN IMMEDIATE` but
/// before the transaction object existed: the connection then held the write
/// lock and failed every later `BEGIN` with a 500.
fn left_inside_transaction(in_transaction: bool) -> bool {
    if in_transaction {
        tracing::warn!("a database connection came back inside a transaction; closing it");
    }
    in_transaction
}

/// The server's storage.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    faults: Faults,
    /// Announces committed documents ([`changes`]).
    feed: tokio::sync::broadcast::Sender<Feed>,
    /// The turn to write on SQLite ([`Store::writer`]).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Sync commits waiting for the writer on SQLite: whoever holds it next
    /// writes them all in one transaction ([`Store::commit_sync`]).
    pending: Arc<std::sync::Mutex<Vec<documents::PendingCommit>>>,
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
                    .after_release(|conn, _| {
                        Box::pin(
                            async move { Ok(!left_inside_transaction(conn.is_in_transaction())) },
                        )
                    })
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
                    .after_release(|conn, _| {
                        Box::pin(async move {
                            if conn.is_in_transaction() {
                                // A dropped transaction's ROLLBACK is queued
                                // to the connection's worker: let it run.
                                drop(conn.lock_handle().await?);
                            }
                            Ok(!left_inside_transaction(conn.is_in_transaction()))
                        })
                    })
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
                Pool::Sqlite(pool)
            }
        };
        Ok(Self {
            pool,
            faults: Faults::default(),
            feed: changes::channel(),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            pending: Arc::default(),
        })
    }

    /// SQLite takes one writer at a time: write transactions wait for their
    /// turn here, in the process, instead of each holding a pooled
    /// connection while SQLite's busy handler sleeps on the lock (which left
    /// the pool's connections to writers and made every read wait). `None`
    /// on PostgreSQL, which has row locks.
    pub(crate) async fn writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool {
            Pool::Sqlite(_) => Some(self.writer.lock().await),
            Pool::Postgres(_) => None,
        }
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

    /// Documents as they commit, on any instance (see [`changes`]).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Feed> {
        self.feed.subscribe()
    }

    /// On PostgreSQL, the task that hears every instance's commits and
    /// announces them here; SQLite announces its own commits and needs none.
    pub fn follow_other_instances(&self) -> Option<tokio::task::JoinHandle<()>> {
        match &self.pool {
            Pool::Postgres(p) => Some(tokio::spawn(changes::listen(p.clone(), self.feed.clone()))),
            Pool::Sqlite(_) => None,
        }
    }

    /// Announce a durable commit on SQLite (PostgreSQL announces through
    /// `NOTIFY`, sent inside the transaction).
    fn announce(&self, stored: Vec<DocChange>) {
        if let Pool::Sqlite(_) = self.pool {
            for c in stored {
                let _ = self.feed.send(Feed::Changed(c));
            }
        }
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

    /// Take or renew the lease on the scheduled job `name` for `holder`
    /// for `ttl_ms`: true if `holder` now holds it (nobody did, the last
    /// lease ran out, or it was already `holder`'s).
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let n = on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO job_leases (name, holder, until_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
             WHERE job_leases.until_ms < $4 OR job_leases.holder = excluded.holder")
            .bind(name).bind(holder).bind(now.saturating_add(ttl_ms)).bind(now)
            .execute(p).await?.rows_affected());
        Ok(n == 1)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Drives `fut` for at most `polls` polls, then drops it: a request
    /// whose client hung up at that moment.
    struct CancelAfter<F> {
        fut: Pin<Box<F>>,
        polls: usize,
    }

    impl<F: Future> Future for CancelAfter<F> {
        type Output = Option<F::Output>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.polls == 0 {
                return Poll::Ready(None);
            }
            self.polls -= 1;
            match self.fut.as_mut().poll(cx) {
                Poll::Ready(v) => Poll::Ready(Some(v)),
                Poll::Pending => Poll::Pending,
            }
        }
    }

    async fn store_with_user(dir: &Path) -> Store {
        let store = Store::open(None, dir).await.unwrap();
        crate::admin::create_unit(&store, "c1", None, "青山县", "county")
            .await
            .unwrap();
        crate::admin::create_user(
            &store,
            crate::admin::UserSpec {
                id: "u1".into(),
                login: "u1".into(),
                name: "张三".into(),
                phone: String::new(),
                post: String::new(),
                duties: String::new(),
                unit: "c1".into(),
                role: "cadre".into(),
                scope: None,
                password: "correct-horse-9".into(),
            },
        )
        .await
        .unwrap();
        store
    }

    /// A write transaction dropped at any await (the client hung up) must
    /// not leave its connection in the pool inside a transaction: sqlx can
    /// leak one when a custom `BEGIN` is cancelled after it ran, and every
    /// later write on that connection then failed with a 500.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_transactions_leave_no_connection_inside_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_user(dir.path()).await;
        // Without the fix a leaked write lock makes every later write wait
        // out the busy timeout: bound the whole run instead of hanging.
        let run = async {
            for i in 0..3_000 {
                let s = store.clone();
                let fut = Box::pin(async move { s.disable_user("u1").await });
                let _ = CancelAfter {
                    fut,
                    polls: 1 + i % 7,
                }
                .await;
            }
            // Every connection the pool hands out still takes a write.
            let writes: Vec<_> = (0..32)
                .map(|_| {
                    let s = store.clone();
                    tokio::spawn(async move { s.disable_user("u1").await })
                })
                .collect();
            for w in writes {
                w.await.unwrap().unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("writes after cancelled transactions did not finish within 60 s");
    }
}

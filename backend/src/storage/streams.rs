//! Leases of open event streams: a row per stream, counted when a stream
//! opens, so the cap per user and per device holds across every instance on
//! one database. The serving instance renews a lease on the stream's
//! periodic access check and deletes it when the stream ends; a lease whose
//! instance died runs out by itself. Opening takes the user's turn (SQLite:
//! the one writer; PostgreSQL: a transaction lock on the user), so two
//! instances opening streams for one user at once cannot both take the last
//! place.

use super::{now_ms, on_pool, Pool, Store, StoreError};

/// An open stream's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLease {
    pub id: String,
    pub user_id: String,
    pub device_id: String,
    /// The instance serving the stream.
    pub instance: String,
}

/// Which cap a refused stream met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCap {
    PerUser(u32),
    PerDevice(u32),
}

impl Store {
    /// Take a lease for a new stream for `ttl_ms`, unless the user already
    /// holds `per_user` live leases or the device `per_device`.
    pub async fn open_event_stream(
        &self,
        lease: &StreamLease,
        per_user: u32,
        per_device: u32,
        ttl_ms: i64,
    ) -> Result<Result<(), StreamCap>, StoreError> {
        let now = now_ms();
        let postgres = matches!(self.pool(), Pool::Postgres(_));
        let _writer = self.writer().await;
        let outcome: Result<Result<(), StreamCap>, sqlx::Error> = on_pool!(self.pool(), p => {
            async {
                let mut tx = p.begin_with(self.pool().begin_statement()).await?;
                if postgres {
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(format!("event-streams:{}", lease.user_id))
                        .execute(&mut *tx).await?;
                }
                sqlx::query("DELETE FROM event_streams WHERE user_id = $1 AND expires_at < $2")
                    .bind(&lease.user_id).bind(now).execute(&mut *tx).await?;
                let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM event_streams WHERE user_id = $1")
                    .bind(&lease.user_id).fetch_one(&mut *tx).await?;
                if users >= i64::from(per_user) {
                    return Ok(Err(StreamCap::PerUser(per_user)));
                }
                let devices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM event_streams WHERE device_id = $1")
                    .bind(&lease.device_id).fetch_one(&mut *tx).await?;
                if devices >= i64::from(per_device) {
                    return Ok(Err(StreamCap::PerDevice(per_device)));
                }
                sqlx::query(
                    "INSERT INTO event_streams (id, user_id, device_id, instance, opened_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&lease.id).bind(&lease.user_id).bind(&lease.device_id)
                    .bind(&lease.instance).bind(now).bind(now.saturating_add(ttl_ms))
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Ok(()))
            }.await
        });
        Ok(outcome?)
    }

    /// Renew a lease for `ttl_ms`: false if it is gone (it ran out and
    /// another opening removed it).
    pub async fn renew_event_stream(&self, id: &str, ttl_ms: i64) -> Result<bool, StoreError> {
        let until = now_ms().saturating_add(ttl_ms);
        let n = on_pool!(self.pool(), p => sqlx::query(
            "UPDATE event_streams SET expires_at = $2 WHERE id = $1")
            .bind(id).bind(until).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// The stream ended: its place is free.
    pub async fn close_event_stream(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query("DELETE FROM event_streams WHERE id = $1")
            .bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Remove the leases that ran out (their instance died): how many.
    pub async fn remove_expired_event_streams(&self) -> Result<u64, StoreError> {
        let n = on_pool!(self.pool(), p => sqlx::query("DELETE FROM event_streams WHERE expires_at < $1")
            .bind(now_ms()).execute(p).await?.rows_affected());
        Ok(n)
    }
}

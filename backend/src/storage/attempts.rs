//! Counters of attempts per key (login attempts by account, by account and
//! address, by address) in the database, so that a limit holds whichever
//! instance a request reaches. A key's count is kept per window (one
//! minute); what the limits read is a sliding estimate: this window's
//! count and the part of the last window's that still lies within the
//! last minute.

use std::collections::HashMap;

use sqlx::Row;

use super::{now_ms, on_pool, Store, StoreError};

/// The window of the counters.
pub const WINDOW_MS: i64 = 60_000;

/// `count` attempts per key over the last minute, and how long until the
/// current window ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempts {
    pub counts: Vec<i64>,
    pub window_left_ms: i64,
}

impl Store {
    /// Count one attempt for each of `keys` and return, per key, the
    /// attempts within the last minute, this one included.
    pub async fn count_attempts(&self, keys: &[String]) -> Result<Attempts, StoreError> {
        self.count_attempts_over(keys, WINDOW_MS).await
    }

    /// [`Store::count_attempts`] over windows of `window_ms` (an hour, a
    /// day): per key, the attempts within the last `window_ms`, this one
    /// included. Keys are counted apart per window length, so give each
    /// length keys of its own.
    pub async fn count_attempts_over(
        &self,
        keys: &[String],
        window_ms: i64,
    ) -> Result<Attempts, StoreError> {
        let window_ms = window_ms.max(1_000);
        let now = now_ms();
        let window = now - now.rem_euclid(window_ms);
        let params = self.pool().params();
        let mut upsert =
            String::from("INSERT INTO rate_counters (key, window_start, count, window_ms) VALUES ");
        for i in 0..keys.len() {
            if i > 0 {
                upsert.push_str(", ");
            }
            upsert.push('(');
            params.push(&mut upsert, 2 * i + 1);
            upsert.push_str(", ");
            params.push(&mut upsert, 2 * i + 2);
            upsert.push_str(&format!(", 1, {window_ms})"));
        }
        upsert.push_str(
            " ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
              RETURNING key, count",
        );
        let mut previous =
            String::from("SELECT key, count FROM rate_counters WHERE window_start = ");
        params.push(&mut previous, 1);
        previous.push_str(" AND key IN (");
        previous.push_str(&params.list(2, keys.len()));
        previous.push(')');
        let (now_counts, last_counts) = {
            let _writer = self.writer().await;
            on_pool!(self.pool(), p => {
                let mut q = sqlx::query(&upsert);
                for k in keys {
                    q = q.bind(k).bind(window);
                }
                let current = q.fetch_all(p).await?.iter()
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
                    .collect::<Result<HashMap<_, _>, _>>()?;
                let mut q = sqlx::query(&previous).bind(window - window_ms);
                for k in keys {
                    q = q.bind(k);
                }
                let last = q.fetch_all(p).await?.iter()
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
                    .collect::<Result<HashMap<_, _>, _>>()?;
                Ok::<_, sqlx::Error>((current, last))
            })?
        };
        // The last window's attempts, as many as still lie within a minute
        // (rounded up: an attempt is never forgotten early).
        let elapsed = now - window;
        let counts = keys
            .iter()
            .map(|k| {
                let current = now_counts.get(k).copied().unwrap_or(1);
                let last = last_counts.get(k).copied().unwrap_or(0);
                current + (last * (window_ms - elapsed) + window_ms - 1) / window_ms
            })
            .collect();
        Ok(Attempts {
            counts,
            window_left_ms: window_ms - elapsed,
        })
    }

    /// Take back one attempt of each key counted in this window (a login
    /// that succeeded is not held against anyone).
    pub async fn forget_attempts(&self, keys: &[String]) -> Result<(), StoreError> {
        let now = now_ms();
        let window = now - now.rem_euclid(WINDOW_MS);
        let params = self.pool().params();
        let mut sql = String::from(
            "UPDATE rate_counters SET count = count - 1 WHERE count > 0 AND window_start = ",
        );
        params.push(&mut sql, 1);
        sql.push_str(" AND key IN (");
        sql.push_str(&params.list(2, keys.len()));
        sql.push(')');
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => {
            let mut q = sqlx::query(&sql).bind(window);
            for k in keys {
                q = q.bind(k);
            }
            q.execute(p).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Remove counters of windows no limit reads any more: how many.
    pub async fn remove_old_attempts(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let _writer = self.writer().await;
        let n = on_pool!(self.pool(), p => sqlx::query(
            "DELETE FROM rate_counters WHERE window_start < $1 - 2 * window_ms")
            .bind(now).execute(p).await?.rows_affected());
        Ok(n)
    }
}

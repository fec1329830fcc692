//! Documents, the change log, per-device sync states, the global change
//! sequence that device cursors point into, and the read-model tables.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use sync_core::document::Record;
use sync_core::DocId;

use super::{now_ms, on_pool, CommitStep, DocChange, Pool, Store, StoreError};

/// Whose documents a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadScope {
    /// A cadre: their own documents.
    Own { user_id: String },
    /// A leader or supervisor: their own and those of every user in a unit
    /// subtree (`scope_path` is the subtree root's path).
    Subtree { user_id: String, scope_path: String },
}

/// A document accepted from a device, ready to store.
#[derive(Debug)]
pub struct AcceptedDoc {
    pub id: DocId,
    pub bytes: Vec<u8>,
    pub heads: String,
    /// The heads of the stored version this one was merged from (`None`:
    /// the document did not exist). The commit stores the new version only
    /// if the stored one is still that, so two requests merging into the
    /// same document at once never overwrite each other's changes.
    pub prev_heads: Option<String>,
    /// (change hash, actor), both hex, of the changes new to the server.
    pub changes: Vec<(String, String)>,
    pub record: Record,
}

/// A stored document: its bytes and the heads they hold.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub bytes: Vec<u8>,
    /// Comma-joined hex, as the commit wrote it (the compare-and-set key).
    pub heads: String,
}

/// What one sync request stores, in one transaction.
#[derive(Debug, Default)]
pub struct SyncCommit {
    pub docs: Vec<AcceptedDoc>,
    /// (doc id, encoded Automerge sync state) with this device.
    pub peer_states: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeLogRow {
    pub change_hash: String,
    pub actor: String,
    pub user_id: String,
    pub device_id: String,
    pub received_at: i64,
}

/// One cadre's filing figures over a date range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilingRow {
    pub user_id: String,
    pub name: String,
    pub unit_id: String,
    pub days_filed: i64,
    pub entries: i64,
    pub night_activities: i64,
    pub nights_stayed: i64,
}

/// Rows in one multi-row INSERT: at most 11 columns each, so under SQLite's
/// and PostgreSQL's limits on bound parameters (32,766 and 65,535).
const ROWS_PER_STATEMENT: usize = 200;

/// `head VALUES ($1, …, $cols), ($cols+1, …), … tail`: `rows` tuples of
/// `cols` numbered parameters (both databases read `$N`).
fn multi_row(head: &str, cols: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * cols * 6 + 16);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * cols + c + 1).to_string());
        }
        sql.push(')');
    }
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
    sql
}

/// A document's read model with the heads it was read at.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub doc_id: String,
    /// The heads, hex.
    pub heads: Vec<String>,
    pub record: Record,
}

/// Read a stored document's bytes into plain values.
fn read_record(doc_id: &str, bytes: &[u8]) -> Result<Record, String> {
    let id = DocId::parse(doc_id).map_err(|e| e.to_string())?;
    sync_core::Document::load_stored(id, bytes, &sync_core::Actor::random())
        .map(|d| d.read())
        .map_err(|e| e.to_string())
}

/// Every photo a record references, once.
pub fn photo_hashes(record: &Record) -> std::collections::BTreeSet<&str> {
    match record {
        Record::Diary(d) => d
            .entries
            .iter()
            .flat_map(|e| e.photos.iter())
            .map(|p| p.hash.as_str())
            .collect(),
        Record::Night(n) => n
            .activities
            .iter()
            .flat_map(|a| a.photos.iter())
            .map(|p| p.hash.as_str())
            .collect(),
        Record::Plan(_) => Default::default(),
    }
}

impl Store {
    /// Saved bytes of the given documents that exist.
    pub async fn load_documents(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, StoredDoc>, StoreError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(200) {
            let placeholders = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT doc_id, bytes, heads FROM documents WHERE doc_id IN ({placeholders})"
            );
            let rows: Vec<(String, StoredDoc)> = on_pool!(self.pool(), p => {
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(p).await?.into_iter()
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, StoredDoc { bytes: r.try_get(1)?, heads: r.try_get(2)? })))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// This device's persisted sync states for the given documents.
    pub async fn peer_states(
        &self,
        device_id: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(200) {
            let placeholders = (2..=chunk.len() + 1)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT doc_id, state FROM peer_states WHERE device_id = $1 AND doc_id IN ({placeholders})");
            let rows: Vec<(String, Vec<u8>)> = on_pool!(self.pool(), p => {
                let mut q = sqlx::query(&sql).bind(device_id);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(p).await?.into_iter()
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Documents in `scope` changed after `cursor`: at most `limit`, the
    /// cursor covering them, and whether more wait.
    pub async fn changed_since(
        &self,
        scope: &ReadScope,
        cursor: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64, bool), StoreError> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        // Read the sequence first: anything committed later has a larger
        // number and is found next time.
        let max: i64 = on_pool!(self.pool(), p => sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
            .fetch_one(p).await)?;
        let fetch = (limit + 1) as i64;
        let rows: Vec<(String, i64)> = match scope {
            ReadScope::Own { user_id } => on_pool!(self.pool(), p => sqlx::query(
                "SELECT doc_id, seq FROM documents WHERE seq > $1 AND seq <= $2 AND owner_id = $3 ORDER BY seq LIMIT $4")
                .bind(cursor).bind(max).bind(user_id).bind(fetch).fetch_all(p).await?.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, _>>())?,
            ReadScope::Subtree {
                user_id,
                scope_path,
            } => on_pool!(self.pool(), p => sqlx::query(
                "SELECT d.doc_id, d.seq FROM documents d
                 JOIN users u ON u.id = d.owner_id JOIN units un ON un.id = u.unit_id
                 WHERE d.seq > $1 AND d.seq <= $2
                   AND (d.owner_id = $3 OR substr(un.path, 1, length($4)) = $4)
                 ORDER BY d.seq LIMIT $5")
                .bind(cursor).bind(max).bind(user_id).bind(scope_path).bind(fetch).fetch_all(p).await?.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, _>>())?,
        };
        let more = rows.len() > limit;
        let rows = &rows[..rows.len().min(limit)];
        let new_cursor = if more {
            rows.last().map(|r| r.1).unwrap_or(cursor)
        } else {
            max.max(cursor)
        };
        Ok((
            rows.iter().map(|r| r.0.clone()).collect(),
            new_cursor as u64,
            more,
        ))
    }

    /// Store what one sync request accepted, in one transaction, durably.
    pub async fn commit_sync(
        &self,
        user_id: &str,
        device_id: &str,
        commit: &SyncCommit,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let notify = matches!(self.pool(), Pool::Postgres(_));
        let mut stored = Vec::with_capacity(commit.docs.len());
        // Serialised before the transaction, which holds the write lock.
        let records = commit
            .docs
            .iter()
            .map(|d| {
                serde_json::to_string(&d.record).map_err(|e| StoreError::Corrupt {
                    doc: d.id.to_string(),
                    reason: format!("its record does not serialise: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            // One sequence number per document, taken in one statement.
            let last_seq: i64 = if commit.docs.is_empty() {
                0
            } else {
                sqlx::query_scalar("UPDATE change_seq SET value = value + $1 WHERE id = 1 RETURNING value")
                    .bind(commit.docs.len() as i64)
                    .fetch_one(&mut *tx).await?
            };
            let first_seq = last_seq - commit.docs.len() as i64 + 1;
            for ((doc, record), seq) in commit.docs.iter().zip(&records).zip(first_seq..) {
                stored.push(DocChange::new(&doc.id, seq));
                let id = doc.id.to_string();
                let stored = match &doc.prev_heads {
                    None => sqlx::query(
                        "INSERT INTO documents (doc_id, kind, owner_id, period, bytes, heads, seq, updated_at, record)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (doc_id) DO NOTHING")
                        .bind(&id).bind(doc.id.kind().as_str()).bind(doc.id.owner().as_str())
                        .bind(doc.id.period().as_string()).bind(&doc.bytes).bind(&doc.heads).bind(seq).bind(now)
                        .bind(record)
                        .execute(&mut *tx).await?,
                    Some(prev) => sqlx::query(
                        "UPDATE documents SET bytes = $2, heads = $3, seq = $4, updated_at = $5, record = $7
                         WHERE doc_id = $1 AND heads = $6")
                        .bind(&id).bind(&doc.bytes).bind(&doc.heads).bind(seq).bind(now).bind(prev)
                        .bind(record)
                        .execute(&mut *tx).await?,
                };
                if stored.rows_affected() != 1 {
                    // Dropping the transaction rolls back everything above.
                    return Err(StoreError::Stale(id));
                }
                self.faults.at(CommitStep::AfterDocument)?;
                // Several rows per statement (see `multi_row`): a statement
                // costs a round trip to the database, a row almost nothing.
                for chunk in doc.changes.chunks(ROWS_PER_STATEMENT) {
                    let sql = multi_row(
                        "INSERT INTO change_log (doc_id, change_hash, actor, user_id, device_id, received_at, seq)",
                        7, chunk.len(), "ON CONFLICT (doc_id, change_hash) DO NOTHING");
                    let mut q = sqlx::query(&sql);
                    for (hash, actor) in chunk {
                        q = q.bind(&id).bind(hash).bind(actor).bind(user_id).bind(device_id).bind(now).bind(seq);
                    }
                    q.execute(&mut *tx).await?;
                }
                self.faults.at(CommitStep::AfterChangeLog)?;
                // Which photos this document references (the photo access rule).
                // A new document has no rows yet in the tables below (they are
                // written only here, with the document row): nothing to clear.
                let existed = doc.prev_heads.is_some();
                if existed {
                    sqlx::query("DELETE FROM photo_refs WHERE doc_id = $1").bind(&id).execute(&mut *tx).await?;
                }
                let photos: Vec<&str> = photo_hashes(&doc.record).into_iter().collect();
                for chunk in photos.chunks(ROWS_PER_STATEMENT) {
                    let sql = multi_row("INSERT INTO photo_refs (sha256, doc_id, owner_id)", 3, chunk.len(), "");
                    let mut q = sqlx::query(&sql);
                    for sha in chunk {
                        q = q.bind(*sha).bind(&id).bind(doc.id.owner().as_str());
                    }
                    q.execute(&mut *tx).await?;
                }
                self.faults.at(CommitStep::AfterPhotoRefs)?;
                // Read models: rebuilt from the merged document.
                let owner = doc.id.owner().as_str();
                let period = doc.id.period().as_string();
                match &doc.record {
                    Record::Diary(d) => {
                        if existed {
                            sqlx::query("DELETE FROM diary_entries WHERE doc_id = $1").bind(&id).execute(&mut *tx).await?;
                        }
                        for chunk in d.entries.chunks(ROWS_PER_STATEMENT) {
                            let sql = multi_row(
                                "INSERT INTO diary_entries (doc_id, entry_id, owner_id, day, time, category, place, text, households, photos, deleted)",
                                11, chunk.len(), "");
                            let mut q = sqlx::query(&sql);
                            for e in chunk {
                                q = q.bind(&id).bind(&e.id).bind(owner).bind(&period).bind(&e.time)
                                    .bind(e.category.as_str()).bind(&e.place).bind(&e.text)
                                    .bind(e.households as i64).bind(e.photos.len() as i64).bind(e.deleted);
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }
                    Record::Night(n) => {
                        if existed {
                            sqlx::query("DELETE FROM night_activities WHERE doc_id = $1").bind(&id).execute(&mut *tx).await?;
                        }
                        for chunk in n.activities.chunks(ROWS_PER_STATEMENT) {
                            let sql = multi_row(
                                "INSERT INTO night_activities (doc_id, activity_id, owner_id, day, kind, start_time, end_time, place, households, deleted)",
                                10, chunk.len(), "");
                            let mut q = sqlx::query(&sql);
                            for a in chunk {
                                q = q.bind(&id).bind(&a.id).bind(owner).bind(&period).bind(a.kind.as_str())
                                    .bind(&a.start).bind(&a.end).bind(&a.place).bind(a.households as i64).bind(a.deleted);
                            }
                            q.execute(&mut *tx).await?;
                        }
                        sqlx::query(
                            "INSERT INTO night_stays (doc_id, owner_id, day, stayed, place) VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (doc_id) DO UPDATE SET stayed = excluded.stayed, place = excluded.place")
                            .bind(&id).bind(owner).bind(&period).bind(n.stayed_overnight).bind(&n.overnight_place)
                            .execute(&mut *tx).await?;
                    }
                    Record::Plan(pl) => {
                        if existed {
                            sqlx::query("DELETE FROM plan_tasks WHERE doc_id = $1").bind(&id).execute(&mut *tx).await?;
                        }
                        for chunk in pl.tasks.chunks(ROWS_PER_STATEMENT) {
                            let sql = multi_row(
                                "INSERT INTO plan_tasks (doc_id, task_id, owner_id, month, title, kind, due, status, closed_at, deleted)",
                                10, chunk.len(), "");
                            let mut q = sqlx::query(&sql);
                            for t in chunk {
                                q = q.bind(&id).bind(&t.id).bind(owner).bind(&period).bind(&t.title)
                                    .bind(t.kind.as_str()).bind(&t.due).bind(t.status.as_str()).bind(t.closed_at).bind(t.deleted);
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }
                }
                self.faults.at(CommitStep::AfterProjections)?;
            }
            for chunk in commit.peer_states.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row("INSERT INTO peer_states (device_id, doc_id, state)", 3, chunk.len(),
                    "ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state");
                let mut q = sqlx::query(&sql);
                for (doc_id, state) in chunk {
                    q = q.bind(device_id).bind(doc_id).bind(state);
                }
                q.execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE devices SET last_seen_at = $2 WHERE id = $1")
                .bind(device_id).bind(now).execute(&mut *tx).await?;
            if notify {
                // Delivered to every listening instance if, and only if,
                // this transaction commits.
                for payload in super::changes::payloads(&stored) {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(super::changes::CHANNEL).bind(payload).execute(&mut *tx).await?;
                }
            }
            self.faults.at(CommitStep::BeforeCommit)?;
            tx.commit().await
        })?;
        self.announce(stored);
        Ok(())
    }

    /// `owner`'s diaries and night logs with period in `[from, to]`, by
    /// period then kind, as plain values with the heads they were read at.
    /// The read models stored by the commit are used; a row without one
    /// (stored before the column existed) or whose one does not parse is
    /// read from its bytes. The decoding runs on a blocking thread.
    pub async fn owner_records(
        &self,
        owner: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        // (doc id, heads, record JSON, bytes when there is no record)
        type Row = (String, String, Option<String>, Option<Vec<u8>>);
        let rows: Vec<Row> = on_pool!(self.pool(), p => sqlx::query(
            "SELECT doc_id, heads, record, CASE WHEN record IS NULL THEN bytes END
             FROM documents WHERE owner_id = $1 AND kind IN ('diary', 'night')
             AND period >= $2 AND period <= $3 ORDER BY period, kind")
            .bind(owner).bind(from).bind(to).fetch_all(p).await?.into_iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<Result<Vec<_>, _>>())?;
        let decoded = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .map(|(doc_id, heads, json, bytes)| {
                    let parsed = json.as_deref().map(serde_json::from_str::<Record>);
                    let record = match (parsed, bytes) {
                        (Some(Ok(record)), _) => Ok(record),
                        (None, Some(bytes)) => read_record(&doc_id, &bytes),
                        (Some(Err(e)), _) => Err(format!("its stored record does not parse: {e}")),
                        (None, None) => Err("it has neither a record nor bytes".into()),
                    };
                    (doc_id, heads, record)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Corrupt {
            doc: owner.to_owned(),
            reason: e.to_string(),
        })?;
        let mut out = Vec::with_capacity(decoded.len());
        for (doc_id, heads, record) in decoded {
            let record = match record {
                Ok(r) => r,
                Err(reason) => {
                    // A record this version cannot parse (written by a newer
                    // one): the bytes are the truth.
                    tracing::warn!(doc = %doc_id, %reason, "reading the document instead of its stored record");
                    let bytes = self.document_bytes(&doc_id).await?;
                    let id = doc_id.clone();
                    tokio::task::spawn_blocking(move || read_record(&id, &bytes))
                        .await
                        .map_err(|e| StoreError::Corrupt {
                            doc: doc_id.clone(),
                            reason: e.to_string(),
                        })?
                        .map_err(|reason| StoreError::Corrupt {
                            doc: doc_id.clone(),
                            reason,
                        })?
                }
            };
            out.push(StoredRecord {
                heads: heads
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .collect(),
                doc_id,
                record,
            });
        }
        Ok(out)
    }

    /// The bytes of one document.
    async fn document_bytes(&self, doc_id: &str) -> Result<Vec<u8>, StoreError> {
        let bytes: Option<Vec<u8>> = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT bytes FROM documents WHERE doc_id = $1").bind(doc_id).fetch_optional(p).await)?;
        bytes.ok_or(StoreError::NotFound("document"))
    }

    pub async fn change_log(&self, doc_id: &str) -> Result<Vec<ChangeLogRow>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query(
            "SELECT change_hash, actor, user_id, device_id, received_at FROM change_log WHERE doc_id = $1
             ORDER BY seq, change_hash")
            .bind(doc_id).fetch_all(p).await?.into_iter()
            .map(|r| Ok::<_, sqlx::Error>(ChangeLogRow {
                change_hash: r.try_get(0)?, actor: r.try_get(1)?, user_id: r.try_get(2)?,
                device_id: r.try_get(3)?, received_at: r.try_get(4)?,
            })).collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }

    /// Filing figures of every user under `unit_id` for days in `[from, to]`.
    pub async fn filing(
        &self,
        unit_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<FilingRow>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query(
            "SELECT u.id, u.name, u.unit_id,
               (SELECT COUNT(DISTINCT e.day) FROM diary_entries e WHERE e.owner_id = u.id AND e.day >= $2 AND e.day <= $3 AND NOT e.deleted),
               (SELECT COUNT(*) FROM diary_entries e WHERE e.owner_id = u.id AND e.day >= $2 AND e.day <= $3 AND NOT e.deleted),
               (SELECT COUNT(*) FROM night_activities a WHERE a.owner_id = u.id AND a.day >= $2 AND a.day <= $3 AND NOT a.deleted),
               (SELECT COUNT(*) FROM night_stays s WHERE s.owner_id = u.id AND s.day >= $2 AND s.day <= $3 AND s.stayed)
             FROM users u JOIN units un ON un.id = u.unit_id, units s
             WHERE s.id = $1 AND substr(un.path, 1, length(s.path)) = s.path AND u.role IN ('cadre', 'leader')
               AND NOT u.disabled
             ORDER BY un.path, u.id")
            .bind(unit_id).bind(from).bind(to).fetch_all(p).await?.into_iter()
            .map(|r| Ok::<_, sqlx::Error>(FilingRow {
                user_id: r.try_get(0)?, name: r.try_get(1)?, unit_id: r.try_get(2)?,
                days_filed: r.try_get(3)?, entries: r.try_get(4)?, night_activities: r.try_get(5)?,
                nights_stayed: r.try_get(6)?,
            })).collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }

    /// The days with at least one live diary entry of each active cadre or
    /// leader under a unit, over `from..=to`: (user id, day).
    pub async fn filed_days(
        &self,
        unit_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query(
            "SELECT DISTINCT e.owner_id, e.day FROM diary_entries e
               JOIN users u ON u.id = e.owner_id JOIN units un ON un.id = u.unit_id, units s
             WHERE s.id = $1 AND substr(un.path, 1, length(s.path)) = s.path
               AND u.role IN ('cadre', 'leader') AND NOT u.disabled
               AND e.day >= $2 AND e.day <= $3 AND NOT e.deleted")
            .bind(unit_id).bind(from).bind(to).fetch_all(p).await?.into_iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }

    /// How many documents are stored (tests and metrics).
    pub async fn document_count(&self) -> Result<i64, StoreError> {
        Ok(
            on_pool!(self.pool(), p => sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(p).await)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::multi_row;

    #[test]
    fn multi_row_numbers_every_parameter_once() {
        assert_eq!(
            multi_row("INSERT INTO t (a, b)", 2, 3, "ON CONFLICT DO NOTHING"),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            multi_row("INSERT INTO t (a)", 1, 1, ""),
            "INSERT INTO t (a) VALUES ($1)"
        );
    }
}

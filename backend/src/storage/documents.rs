//! Documents, the change log, per-device sync states, the global change
//! sequence that device cursors point into, and the read-model tables.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::Row;
use sync_core::document::item::Item;
use sync_core::document::{Activity, Entry, Night, Record, Task};
use sync_core::DocId;

use super::{now_ms, on_pool, CommitStep, DocChange, Params, Pool, Store, StoreError};

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

/// A sync commit waiting for the writer (SQLite; [`Store::commit_sync`]).
#[derive(Debug)]
pub(crate) struct PendingCommit {
    user_id: String,
    device_id: String,
    commit: SyncCommit,
    done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

/// The queue's lock; a panic while holding it cannot leave it half-changed
/// (pushes and takes only), so a poisoned one is used as it is.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AcceptedDoc {
    /// `doc` whole, as a document new to the server: every change is new.
    pub fn new_document(doc: &mut sync_core::Document) -> Result<Self, sync_core::CoreError> {
        let bytes = doc.verify_save()?;
        let heads = doc
            .heads()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let changes = doc
            .automerge_mut()
            .get_changes(&[])
            .iter()
            .map(|c| (c.hash().to_string(), c.actor_id().to_hex_string()))
            .collect();
        Ok(AcceptedDoc {
            id: doc.id().clone(),
            bytes,
            heads,
            prev_heads: None,
            changes,
            record: doc.read(),
        })
    }
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
/// `cols` parameters, written as `params` says.
fn multi_row(params: Params, head: &str, cols: usize, rows: usize, tail: &str) -> String {
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
            params.push(&mut sql, r * cols + c + 1);
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

/// Every photo a record references, once per whose reference it is: the
/// record's owner's, or in an item each author's of a step that shows it —
/// a collaborator's photo is theirs to upload, not the responsible
/// person's, and another step showing the same photo takes nothing from
/// its author.
pub fn photo_refs<'a>(
    record: &'a Record,
    owner: &'a str,
) -> std::collections::BTreeSet<(&'a str, &'a str)> {
    match record {
        Record::Diary(d) => d
            .entries
            .iter()
            .flat_map(|e| e.photos.iter())
            .map(|p| (p.hash.as_str(), owner))
            .collect(),
        Record::Night(n) => n
            .activities
            .iter()
            .flat_map(|a| a.photos.iter())
            .map(|p| (p.hash.as_str(), owner))
            .collect(),
        Record::Plan(_) => Default::default(),
        Record::Item(i) => i
            .steps
            .iter()
            .flat_map(|s| {
                s.photos
                    .iter()
                    .map(move |p| (p.hash.as_str(), s.by.as_str()))
            })
            .collect(),
    }
}

/// Whose a stored document is, for the `owner_id` columns: the owner of a
/// record kept by its owner, the responsible person of an item (whose
/// leaders read it, and who syncs it), or nobody yet.
pub fn owner_of<'a>(id: &'a DocId, record: &'a Record) -> &'a str {
    match (id.owner(), record) {
        (Some(owner), _) => owner.as_str(),
        (None, Record::Item(item)) => item
            .brief
            .as_ref()
            .map(|b| b.responsible.as_str())
            .unwrap_or_default(),
        (None, _) => "",
    }
}

/// The `period` column: the day or month, or an item's due date.
fn period_of(id: &DocId, record: &Record) -> String {
    match (id.period(), record) {
        (Some(p), _) => p.as_string(),
        (None, Record::Item(item)) => item
            .brief
            .as_ref()
            .map(|b| b.due.clone())
            .unwrap_or_default(),
        (None, _) => String::new(),
    }
}

/// The rows one sync commit writes, by table, each with the index of its
/// document in the commit.
struct CommitRows<'a> {
    /// (document, change hash, actor) of the new changes.
    changes: Vec<(usize, &'a str, &'a str)>,
    /// (document, photo hash, whose reference) of every photo referenced.
    photos: Vec<(usize, &'a str, &'a str)>,
    entries: Vec<(usize, &'a Entry)>,
    activities: Vec<(usize, &'a Activity)>,
    nights: Vec<(usize, &'a Night)>,
    tasks: Vec<(usize, &'a Task)>,
    items: Vec<(usize, &'a Item)>,
    /// (document, status) of the diaries that have one.
    statuses: Vec<(usize, &'a sync_core::document::Status)>,
    /// Ids of the documents that were stored before: their rows in the
    /// tables above are replaced.
    existed: Vec<String>,
    existed_diaries: Vec<String>,
    existed_nights: Vec<String>,
    existed_plans: Vec<String>,
    existed_items: Vec<String>,
}

impl<'a> CommitRows<'a> {
    fn of(docs: &[&'a AcceptedDoc]) -> Self {
        let mut rows = CommitRows {
            changes: Vec::new(),
            photos: Vec::new(),
            entries: Vec::new(),
            activities: Vec::new(),
            nights: Vec::new(),
            tasks: Vec::new(),
            items: Vec::new(),
            statuses: Vec::new(),
            existed: Vec::new(),
            existed_diaries: Vec::new(),
            existed_nights: Vec::new(),
            existed_plans: Vec::new(),
            existed_items: Vec::new(),
        };
        for (i, doc) in docs.iter().enumerate() {
            rows.changes
                .extend(doc.changes.iter().map(|(h, a)| (i, h.as_str(), a.as_str())));
            let owner = owner_of(&doc.id, &doc.record);
            rows.photos.extend(
                photo_refs(&doc.record, owner)
                    .into_iter()
                    .map(|(h, o)| (i, h, o)),
            );
            let existed = doc.prev_heads.is_some();
            if existed {
                rows.existed.push(doc.id.to_string());
            }
            let existed_in = |list: &mut Vec<String>| {
                if existed {
                    list.push(doc.id.to_string());
                }
            };
            match &doc.record {
                Record::Diary(d) => {
                    existed_in(&mut rows.existed_diaries);
                    rows.entries.extend(d.entries.iter().map(|e| (i, e)));
                    if let Some(s) = &d.status {
                        rows.statuses.push((i, s));
                    }
                }
                Record::Night(n) => {
                    existed_in(&mut rows.existed_nights);
                    rows.activities.extend(n.activities.iter().map(|a| (i, a)));
                    rows.nights.push((i, n));
                }
                Record::Plan(p) => {
                    existed_in(&mut rows.existed_plans);
                    rows.tasks.extend(p.tasks.iter().map(|t| (i, t)));
                }
                Record::Item(item) => {
                    existed_in(&mut rows.existed_items);
                    rows.items.push((i, item));
                }
            }
        }
        rows
    }
}

/// A record's own content: without its comments (others write them) and
/// its owner's status (在岗及去向), neither of which a publication shows.
fn own_content(mut record: Record) -> Record {
    match &mut record {
        Record::Diary(d) => {
            d.status = None;
            d.comments.clear();
        }
        Record::Night(n) => n.comments.clear(),
        Record::Plan(p) => p.comments.clear(),
        Record::Item(_) => {}
    }
    record
}

/// `DELETE FROM table WHERE doc_id IN (…)` for `ids`, a chunk at a time.
async fn delete_where_doc_in<'c, DB>(
    params: Params,
    tx: &mut sqlx::Transaction<'c, DB>,
    table: &str,
    ids: &[String],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM {table} WHERE doc_id IN ({})",
            params.list(1, chunk.len())
        );
        let mut q = sqlx::query::<DB>(&sql);
        for id in chunk {
            q = q.bind(id.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl ReadScope {
    /// Whose scope it is.
    pub fn user_id(&self) -> &str {
        match self {
            ReadScope::Own { user_id } | ReadScope::Subtree { user_id, .. } => user_id,
        }
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
            let sql = format!(
                "SELECT doc_id, bytes, heads FROM documents WHERE doc_id IN ({})",
                self.pool().params().list(1, chunk.len())
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
            let sql = format!(
                "SELECT doc_id, state FROM peer_states WHERE device_id = {} AND doc_id IN ({})",
                self.pool().params().list(1, 1),
                self.pool().params().list(2, chunk.len())
            );
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
    /// cursor covering them, and whether more wait. With `items`, also the
    /// items the caller is named on (an item of someone in scope is in it
    /// anyway); without, no item at all (a client that cannot read them).
    pub async fn changed_since(
        &self,
        scope: &ReadScope,
        cursor: u64,
        limit: usize,
        items: bool,
    ) -> Result<(Vec<String>, u64, bool), StoreError> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        // Read the sequence first: anything committed later has a larger
        // number and is found next time.
        let max: i64 = on_pool!(self.pool(), p => sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
            .fetch_one(p).await)?;
        let fetch = (limit + 1) as i64;
        let rows: Vec<(String, i64)> = match scope {
            // Each part of a union keeps its own index (sequence, owner,
            // participant); an OR over them would scan.
            ReadScope::Own { user_id } if items => on_pool!(self.pool(), p => sqlx::query(
                "SELECT doc_id, seq FROM documents WHERE seq > $1 AND seq <= $2 AND owner_id = $3
                 UNION
                 SELECT d.doc_id, d.seq FROM doc_participants dp JOIN documents d ON d.doc_id = dp.doc_id
                 WHERE dp.user_id = $3 AND d.seq > $1 AND d.seq <= $2
                 ORDER BY 2 LIMIT $4")
                .bind(cursor).bind(max).bind(user_id).bind(fetch).fetch_all(p).await?.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, _>>())?,
            ReadScope::Own { user_id } => on_pool!(self.pool(), p => sqlx::query(
                "SELECT doc_id, seq FROM documents WHERE seq > $1 AND seq <= $2 AND owner_id = $3 AND kind <> 'item'
                 ORDER BY seq LIMIT $4")
                .bind(cursor).bind(max).bind(user_id).bind(fetch).fetch_all(p).await?.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, _>>())?,
            ReadScope::Subtree {
                user_id,
                scope_path,
            } if items => on_pool!(self.pool(), p => sqlx::query(
                "SELECT d.doc_id, d.seq FROM documents d
                 JOIN users u ON u.id = d.owner_id JOIN units un ON un.id = u.unit_id
                 WHERE d.seq > $1 AND d.seq <= $2
                   AND (d.owner_id = $3 OR substr(un.path, 1, length($4)) = $4)
                 UNION
                 SELECT d.doc_id, d.seq FROM doc_participants dp JOIN documents d ON d.doc_id = dp.doc_id
                 WHERE dp.user_id = $3 AND d.seq > $1 AND d.seq <= $2
                 ORDER BY 2 LIMIT $5")
                .bind(cursor).bind(max).bind(user_id).bind(scope_path).bind(fetch).fetch_all(p).await?.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, _>>())?,
            ReadScope::Subtree {
                user_id,
                scope_path,
            } => on_pool!(self.pool(), p => sqlx::query(
                "SELECT d.doc_id, d.seq FROM documents d
                 JOIN users u ON u.id = d.owner_id JOIN units un ON un.id = u.unit_id
                 WHERE d.seq > $1 AND d.seq <= $2 AND d.kind <> 'item'
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

    /// Store what one sync request accepted, durably, compare-and-set
    /// (a document is stored only if nobody stored another version of it
    /// since the request read it; else `Stale` and nothing is stored).
    ///
    /// On SQLite, one writer at a time: each statement is a hand-over to
    /// SQLite's worker thread and back, and while both cores are busy
    /// merging, a commit of a dozen statements held the writer for about 8
    /// ms, so requests queued for it (70 ms on average under the Monday
    /// load, which the writer capped at ~120 commits a second). So commits
    /// queue here, and whoever gets the writer writes every commit waiting
    /// in one transaction and the same dozen statements (group commit; one
    /// fsync for all). If that fails (a document in it went stale, or two
    /// of them wrote the same document) each is written alone, so each gets
    /// its own answer. The writing runs apart from the request that took
    /// the writer, so a client hanging up cannot cut the others' short.
    pub async fn commit_sync(
        &self,
        user_id: &str,
        device_id: &str,
        commit: SyncCommit,
    ) -> Result<(), StoreError> {
        let Pool::Sqlite(_) = self.pool() else {
            return self.write_commits(&[(user_id, device_id, &commit)]).await;
        };
        let (done, answer) = tokio::sync::oneshot::channel();
        lock(&self.pending).push(PendingCommit {
            user_id: user_id.to_owned(),
            device_id: device_id.to_owned(),
            commit,
            done,
        });
        let writer = self.writer.clone().lock_owned().await;
        let batch = std::mem::take(&mut *lock(&self.pending));
        if batch.is_empty() {
            // An earlier holder wrote this one.
            drop(writer);
        } else {
            let store = self.clone();
            let _ = tokio::spawn(async move {
                let _writer = writer;
                store.write_batch(batch).await;
            })
            .await;
        }
        answer
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }

    /// Write `batch` together, or one by one if together fails; answer each.
    async fn write_batch(&self, batch: Vec<PendingCommit>) {
        if batch.len() > 1 {
            let items: Vec<_> = batch
                .iter()
                .map(|p| (p.user_id.as_str(), p.device_id.as_str(), &p.commit))
                .collect();
            match self.write_commits(&items).await {
                Ok(()) => {
                    for p in batch {
                        let _ = p.done.send(Ok(()));
                    }
                    return;
                }
                Err(e) => {
                    tracing::debug!(error = %e, commits = batch.len(), "a group commit failed; writing its commits one by one");
                }
            }
        }
        for p in batch {
            let written = self
                .write_commits(&[(&p.user_id, &p.device_id, &p.commit)])
                .await;
            let _ = p.done.send(written);
        }
    }

    /// Write the commits of `items` (user, device, commit) in one
    /// transaction, table by table, several rows per statement: a statement
    /// costs a round trip to the database, a row almost nothing, so a week
    /// of 14 documents, or the weeks of a dozen phones, take about a dozen
    /// statements. Any stale document fails them all.
    async fn write_commits(&self, items: &[(&str, &str, &SyncCommit)]) -> Result<(), StoreError> {
        let now = now_ms();
        let notify = matches!(self.pool(), Pool::Postgres(_));
        // Every document of every commit, with whose they are.
        let all: Vec<&AcceptedDoc> = items.iter().flat_map(|(_, _, c)| c.docs.iter()).collect();
        let users: Vec<&str> = items
            .iter()
            .flat_map(|(u, _, c)| c.docs.iter().map(move |_| *u))
            .collect();
        let devices: Vec<&str> = items
            .iter()
            .flat_map(|(_, d, c)| c.docs.iter().map(move |_| *d))
            .collect();
        let peer_states: Vec<(&str, &String, &Vec<u8>)> = items
            .iter()
            .flat_map(|(_, d, c)| {
                c.peer_states
                    .iter()
                    .map(move |(doc, state)| (*d, doc, state))
            })
            .collect();
        let mut seen_devices: Vec<&str> = items.iter().map(|(_, d, _)| *d).collect();
        seen_devices.sort_unstable();
        seen_devices.dedup();
        // Serialised before the transaction, which holds the write lock.
        let records = all
            .iter()
            .map(|d| {
                serde_json::to_string(&d.record).map_err(|e| StoreError::Corrupt {
                    doc: d.id.to_string(),
                    reason: format!("its record does not serialise: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rows = CommitRows::of(&all);
        let params = self.pool().params();
        let stored = on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            // One sequence number per document, taken in one statement.
            let last_seq: i64 = if all.is_empty() {
                0
            } else {
                sqlx::query_scalar("UPDATE change_seq SET value = value + $1 WHERE id = 1 RETURNING value")
                    .bind(all.len() as i64)
                    .fetch_one(&mut *tx).await?
            };
            let first_seq = last_seq - all.len() as i64 + 1;
            let seqs: Vec<i64> = (first_seq..).take(all.len()).collect();
            let stored: Vec<DocChange> = all.iter().zip(&seqs)
                .map(|(doc, &seq)| DocChange::new(&doc.id, owner_of(&doc.id, &doc.record), seq)).collect();

            // Documents, compare-and-set: a new one only if nobody stored it
            // meanwhile, an existing one only if it still has the heads it
            // was merged from. Anything else is stale and the request merges
            // again (dropping the transaction rolls back everything).
            let docs: Vec<(&AcceptedDoc, &String, i64, String)> = all.iter().zip(&records).zip(&seqs)
                .map(|((doc, record), &seq)| (*doc, record, seq, doc.id.to_string())).collect();
            let new: Vec<_> = docs.iter().filter(|d| d.0.prev_heads.is_none()).collect();
            for chunk in new.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params,
                    "INSERT INTO documents (doc_id, kind, owner_id, period, bytes, heads, seq, updated_at, record)",
                    9, chunk.len(), "ON CONFLICT (doc_id) DO NOTHING RETURNING doc_id");
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for (doc, record, seq, id) in chunk.iter().copied() {
                    q = q.bind(id).bind(doc.id.kind().as_str()).bind(owner_of(&doc.id, &doc.record))
                        .bind(period_of(&doc.id, &doc.record)).bind(&doc.bytes).bind(&doc.heads).bind(*seq).bind(now)
                        .bind(*record);
                }
                let inserted = q.fetch_all(&mut *tx).await?;
                if inserted.len() != chunk.len() {
                    let lost = chunk.iter().find(|d| !inserted.contains(&d.3)).map(|d| d.3.clone());
                    return Err(StoreError::Stale(lost.unwrap_or_default()));
                }
            }
            for (doc, record, seq, id) in docs.iter().filter(|d| d.0.prev_heads.is_some()) {
                let updated = sqlx::query(
                    "UPDATE documents SET bytes = $2, heads = $3, seq = $4, updated_at = $5, record = $7
                     WHERE doc_id = $1 AND heads = $6")
                    .bind(id).bind(&doc.bytes).bind(&doc.heads).bind(*seq).bind(now).bind(&doc.prev_heads)
                    .bind(*record)
                    .execute(&mut *tx).await?;
                if updated.rows_affected() != 1 {
                    return Err(StoreError::Stale(id.clone()));
                }
            }
            self.faults.at(CommitStep::AfterDocument)?;

            let seq_of = |i: usize| seqs[i];
            for chunk in rows.changes.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params,
                    "INSERT INTO change_log (doc_id, change_hash, actor, user_id, device_id, received_at, seq)",
                    7, chunk.len(), "ON CONFLICT (doc_id, change_hash) DO NOTHING");
                let mut q = sqlx::query(&sql);
                for (i, hash, actor) in chunk {
                    q = q.bind(&docs[*i].3).bind(hash).bind(actor).bind(users[*i]).bind(devices[*i]).bind(now).bind(seq_of(*i));
                }
                q.execute(&mut *tx).await?;
            }
            self.faults.at(CommitStep::AfterChangeLog)?;

            // Which photos each document references (the photo access
            // rule). A new document has no rows yet in the tables below
            // (they are written only here, with the document row): only
            // existing ones are cleared first.
            delete_where_doc_in(params, &mut tx, "photo_refs", &rows.existed).await?;
            for chunk in rows.photos.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params, "INSERT INTO photo_refs (sha256, doc_id, owner_id)", 3, chunk.len(), "");
                let mut q = sqlx::query(&sql);
                for (i, sha, owner) in chunk {
                    q = q.bind(*sha).bind(&docs[*i].3).bind(*owner);
                }
                q.execute(&mut *tx).await?;
            }
            self.faults.at(CommitStep::AfterPhotoRefs)?;

            // Read models: rebuilt from the merged documents.
            delete_where_doc_in(params, &mut tx, "diary_entries", &rows.existed_diaries).await?;
            for chunk in rows.entries.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params,
                    "INSERT INTO diary_entries (doc_id, entry_id, owner_id, day, time, category, place, text, households, photos, deleted)",
                    11, chunk.len(), "");
                let mut q = sqlx::query(&sql);
                for (i, e) in chunk {
                    let doc = all[*i];
                    q = q.bind(&docs[*i].3).bind(&e.id).bind(owner_of(&doc.id, &doc.record)).bind(period_of(&doc.id, &doc.record)).bind(&e.time)
                        .bind(e.category.as_str()).bind(&e.place).bind(&e.text)
                        .bind(e.households as i64).bind(e.photos.len() as i64).bind(e.deleted);
                }
                q.execute(&mut *tx).await?;
            }
            delete_where_doc_in(params, &mut tx, "night_activities", &rows.existed_nights).await?;
            for chunk in rows.activities.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params,
                    "INSERT INTO night_activities (doc_id, activity_id, owner_id, day, kind, start_time, end_time, place, households, deleted)",
                    10, chunk.len(), "");
                let mut q = sqlx::query(&sql);
                for (i, a) in chunk {
                    let doc = all[*i];
                    q = q.bind(&docs[*i].3).bind(&a.id).bind(owner_of(&doc.id, &doc.record)).bind(period_of(&doc.id, &doc.record)).bind(a.kind.as_str())
                        .bind(&a.start).bind(&a.end).bind(&a.place).bind(a.households as i64).bind(a.deleted);
                }
                q.execute(&mut *tx).await?;
            }
            for chunk in rows.nights.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params, "INSERT INTO night_stays (doc_id, owner_id, day, stayed, place)", 5, chunk.len(),
                    "ON CONFLICT (doc_id) DO UPDATE SET stayed = excluded.stayed, place = excluded.place");
                let mut q = sqlx::query(&sql);
                for (i, n) in chunk {
                    let doc = all[*i];
                    q = q.bind(&docs[*i].3).bind(owner_of(&doc.id, &doc.record)).bind(period_of(&doc.id, &doc.record))
                        .bind(n.stayed_overnight).bind(&n.overnight_place);
                }
                q.execute(&mut *tx).await?;
            }
            delete_where_doc_in(params, &mut tx, "plan_tasks", &rows.existed_plans).await?;
            for chunk in rows.tasks.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params,
                    "INSERT INTO plan_tasks (doc_id, task_id, owner_id, month, title, kind, due, status, closed_at, deleted)",
                    10, chunk.len(), "");
                let mut q = sqlx::query(&sql);
                for (i, t) in chunk {
                    let doc = all[*i];
                    q = q.bind(&docs[*i].3).bind(&t.id).bind(owner_of(&doc.id, &doc.record)).bind(period_of(&doc.id, &doc.record)).bind(&t.title)
                        .bind(t.kind.as_str()).bind(&t.due).bind(t.status.as_str()).bind(t.closed_at).bind(t.deleted);
                }
                q.execute(&mut *tx).await?;
            }
            // Items: their row and who is named on them. Few per commit,
            // so a statement each.
            delete_where_doc_in(params, &mut tx, "items", &rows.existed_items).await?;
            delete_where_doc_in(params, &mut tx, "doc_participants", &rows.existed_items).await?;
            for (i, item) in &rows.items {
                let Some(b) = &item.brief else { continue };
                let st = item.standing();
                sqlx::query(
                    "INSERT INTO items (doc_id, list, source, title, unit_id, issuer_id, responsible_id, issued_at, due,
                       status, done_at, closed_at, sent_back, steps, last_step_at, verdict)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
                    .bind(&docs[*i].3).bind(b.list.as_str()).bind(b.source.as_str()).bind(&b.title).bind(&b.unit)
                    .bind(&b.issuer).bind(&b.responsible).bind(b.issued_at).bind(&b.due)
                    .bind(st.status.as_str()).bind(st.done_at).bind(st.closed_at).bind(i64::from(st.sent_back))
                    .bind(item.steps.len() as i64).bind(item.steps.last().map(|s| s.at))
                    .bind(st.verdict.map(|v| v.as_str()))
                    .execute(&mut *tx).await?;
                let named = [(b.issuer.as_str(), "issuer"), (b.responsible.as_str(), "responsible")].into_iter()
                    .chain(b.collaborators.iter().map(|c| (c.as_str(), "collaborator")));
                for (user, part) in named {
                    sqlx::query("INSERT INTO doc_participants (doc_id, user_id, part) VALUES ($1, $2, $3)
                                 ON CONFLICT (doc_id, user_id) DO NOTHING")
                        .bind(&docs[*i].3).bind(user).bind(part).execute(&mut *tx).await?;
                }
            }
            // Where each writer last said they were: the newest status by
            // its time, never later than when it first arrived (a phone's
            // clock ahead does not hold a status on the card, and a diary
            // committed again keeps its status's first time), one
            // statement per person.
            let mut newest: BTreeMap<&str, (usize, &sync_core::document::Status, i64)> = BTreeMap::new();
            for &(i, s) in &rows.statuses {
                sqlx::query(
                    "INSERT INTO diary_status (doc_id, claimed_at, set_at) VALUES ($1, $2, $3)
                     ON CONFLICT (doc_id) DO UPDATE SET claimed_at = excluded.claimed_at, set_at = excluded.set_at
                     WHERE diary_status.claimed_at <> excluded.claimed_at")
                    .bind(&docs[i].3).bind(s.at).bind(s.at.min(now))
                    .execute(&mut *tx).await?;
                let set_at: i64 = sqlx::query_scalar("SELECT set_at FROM diary_status WHERE doc_id = $1")
                    .bind(&docs[i].3).fetch_one(&mut *tx).await?;
                let owner = owner_of(&all[i].id, &all[i].record);
                if newest.get(owner).is_none_or(|(_, _, t)| set_at > *t) {
                    newest.insert(owner, (i, s, set_at));
                }
            }
            for (owner, (i, s, set_at)) in newest {
                sqlx::query(
                    "INSERT INTO cadre_status (user_id, kind, village, set_at, doc_id)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind, village = excluded.village,
                         set_at = excluded.set_at, doc_id = excluded.doc_id
                     WHERE excluded.set_at >= cadre_status.set_at")
                    .bind(owner).bind(s.kind.as_str()).bind(s.village.as_deref().unwrap_or(""))
                    .bind(set_at).bind(&docs[i].3)
                    .execute(&mut *tx).await?;
            }
            self.faults.at(CommitStep::AfterProjections)?;

            for chunk in peer_states.chunks(ROWS_PER_STATEMENT) {
                let sql = multi_row(params, "INSERT INTO peer_states (device_id, doc_id, state)", 3, chunk.len(),
                    "ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state");
                let mut q = sqlx::query(&sql);
                for (device_id, doc_id, state) in chunk {
                    q = q.bind(*device_id).bind(*doc_id).bind(*state);
                }
                q.execute(&mut *tx).await?;
            }
            for chunk in seen_devices.chunks(ROWS_PER_STATEMENT) {
                let sql = format!("UPDATE devices SET last_seen_at = {} WHERE id IN ({})",
                    params.list(1, 1), params.list(2, chunk.len()));
                let mut q = sqlx::query(&sql).bind(now);
                for device_id in chunk {
                    q = q.bind(*device_id);
                }
                q.execute(&mut *tx).await?;
            }
            if notify {
                // Delivered to every listening instance if, and only if,
                // this transaction commits.
                for payload in super::changes::payloads(&stored) {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(super::changes::CHANNEL).bind(payload).execute(&mut *tx).await?;
                }
            }
            self.faults.at(CommitStep::BeforeCommit)?;
            tx.commit().await?;
            Ok::<_, StoreError>(stored)
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
        self.records_of_kinds(owner, "'diary', 'night'", from, to)
            .await
    }

    /// `owner`'s month plan of `month` (`2026-11`), as `owner_records`
    /// reads it; none when the cadre has not made one.
    pub async fn owner_plan(
        &self,
        owner: &str,
        month: &str,
    ) -> Result<Option<StoredRecord>, StoreError> {
        Ok(self
            .records_of_kinds(owner, "'plan'", month, month)
            .await?
            .pop())
    }

    /// `owner_records` for the kinds listed in `kinds` (an SQL list of
    /// literals, never outside input).
    async fn records_of_kinds(
        &self,
        owner: &str,
        kinds: &'static str,
        from: &str,
        to: &str,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        // (doc id, heads, record JSON, bytes when there is no record)
        type Row = (String, String, Option<String>, Option<Vec<u8>>);
        let sql = format!(
            "SELECT doc_id, heads, record, CASE WHEN record IS NULL THEN bytes END
             FROM documents WHERE owner_id = $1 AND kind IN ({kinds})
             AND period >= $2 AND period <= $3 ORDER BY period, kind"
        );
        let rows: Vec<Row> = on_pool!(self.pool(), p => sqlx::query(&sql)
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

    /// Whether document `doc_id`'s record differs now from what it was at
    /// `heads` (hex change hashes) in its own content, leaving aside the
    /// comments and where its owner said they were (the status), which no
    /// publication shows. `true` when it cannot tell (heads it does not
    /// hold): a change is then shown.
    pub async fn record_changed_since(
        &self,
        doc_id: &str,
        heads: &[String],
    ) -> Result<bool, StoreError> {
        let Ok(id) = DocId::parse(doc_id) else {
            return Ok(true);
        };
        let bytes = self.document_bytes(doc_id).await?;
        let heads = heads.to_vec();
        let changed = tokio::task::spawn_blocking(move || {
            let hashes: Option<Vec<automerge::ChangeHash>> =
                heads.iter().map(|h| h.parse().ok()).collect();
            let mut now = automerge::AutoCommit::load(&bytes).ok()?;
            let then = now.fork_at(&hashes?).ok()?;
            let read = |am: automerge::AutoCommit| {
                sync_core::Document::from_automerge(id.clone(), am)
                    .ok()
                    .map(|d| own_content(d.read()))
            };
            Some(read(then)? != read(now)?)
        })
        .await
        .map_err(|e| StoreError::Corrupt {
            doc: doc_id.to_owned(),
            reason: format!("reading it failed: {e}"),
        })?;
        Ok(changed.unwrap_or(true))
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
    use super::{multi_row, Params};

    #[test]
    fn multi_row_numbers_every_parameter_once() {
        assert_eq!(
            multi_row(
                Params::Numbered,
                "INSERT INTO t (a, b)",
                2,
                3,
                "ON CONFLICT DO NOTHING"
            ),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            multi_row(Params::Numbered, "INSERT INTO t (a)", 1, 1, ""),
            "INSERT INTO t (a) VALUES ($1)"
        );
    }

    #[test]
    fn on_sqlite_the_parameters_are_anonymous() {
        assert_eq!(
            multi_row(Params::Anonymous, "INSERT INTO t (a, b)", 2, 2, ""),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(Params::Anonymous.list(2, 3), "?, ?, ?");
        assert_eq!(Params::Numbered.list(2, 3), "$2, $3, $4");
    }
}

//! The phone's local replica: one SQLite file holding the documents, the
//! sync state with the server, which documents have unsynced changes, and
//! the outbox of photos waiting to upload.
//!
//! Guarantees: an edit that returned `Ok` is on disk (WAL, `synchronous=FULL`,
//! one transaction per edit) and survives the process being killed. A sync
//! reply is stored in one transaction. Documents are kept as a compacted
//! snapshot plus the incremental changes written since; the changes are
//! folded into the snapshot every [`COMPACT_AFTER_CHUNKS`] writes. The file
//! carries a schema version (`PRAGMA user_version`) with an upgrade path; a
//! file from a newer app version is refused, not damaged.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::document::{contain, Actor, Document, Edit, EditContext, PhotoRef, Record};
use crate::draft::{typed_target, Draft};
use crate::error::CoreError;
use crate::ids::{DocId, ItemId};
use crate::photo::PreparedPhoto;
use crate::session::{ClientDocWrite, ClientStore, ClientWrites};
use crate::upload::UploadState;
use crate::validate::{PhotoHash, ValidationError};

/// Incremental chunks a document may gather before it is compacted.
pub const COMPACT_AFTER_CHUNKS: i64 = 32;
/// Documents kept decoded in memory at most (the least recently used go;
/// they load from disk when read again). A leader's phone holds thousands.
pub const CACHED_DOCS: usize = 256;
/// Where the sync cursor is kept (`meta`): a new key since clients read
/// items (an older replica's `cursor` is left behind).
const CURSOR_KEY: &str = "cursor.items";

/// Upgrades of the replica schema; index + 1 is the version it brings.
const MIGRATIONS: &[&str] = &[
    // 1: documents, chunks, meta, photo outbox.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE documents (
         doc_id TEXT PRIMARY KEY,
         snapshot BLOB NOT NULL,
         chunks INTEGER NOT NULL DEFAULT 0,
         pending INTEGER NOT NULL DEFAULT 0,
         sync_state BLOB,
         updated_at INTEGER NOT NULL
     );
     CREATE INDEX documents_pending ON documents (pending) WHERE pending = 1;
     CREATE TABLE chunks (
         doc_id TEXT NOT NULL REFERENCES documents (doc_id),
         seq INTEGER NOT NULL,
         bytes BLOB NOT NULL,
         PRIMARY KEY (doc_id, seq)
     );
     CREATE TABLE photo_outbox (
         sha256 TEXT PRIMARY KEY,
         doc_id TEXT NOT NULL,
         item_id TEXT NOT NULL,
         path TEXT NOT NULL,
         size INTEGER NOT NULL,
         state TEXT NOT NULL DEFAULT 'queued'
             CHECK (state IN ('queued', 'uploading', 'done', 'failed')),
         acked_bytes INTEGER NOT NULL DEFAULT 0,
         error TEXT,
         created_at INTEGER NOT NULL,
         updated_at INTEGER NOT NULL
     );",
    // 2: the text being typed (see `crate::draft`).
    crate::draft::TABLE,
];

/// A photo waiting to upload, or uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxPhoto {
    pub sha256: String,
    pub doc: String,
    pub item: String,
    pub path: String,
    pub size: u64,
    pub state: String,
    pub acked_bytes: u64,
    pub error: Option<String>,
}

/// The phone's replica. One per data folder; it is the only writer of its
/// file.
pub struct Replica {
    conn: Connection,
    actor: Actor,
    cache: HashMap<DocId, Document>,
    /// The cached ids, least recently used first.
    recent: VecDeque<DocId>,
    /// The heads of what is on disk for each cached document.
    disk_heads: HashMap<DocId, Vec<ChangeHash>>,
}

/// What [`Replica::take_new_actor`] did.
#[derive(Debug, Clone)]
pub struct NewActor {
    pub actor: Actor,
    /// Documents whose unsynced changes moved to the new actor.
    pub docs: usize,
    pub changes: usize,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("actor", &self.actor)
            .finish()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Replica {
    /// Open (or create) the replica file at `path`.
    pub fn open(path: &Path) -> Result<Self, CoreError> {
        let setup = |reason: String| CoreError::StorageSetup {
            path: path.display().to_string(),
            reason,
        };
        let mut conn = Connection::open(path).map_err(|e| setup(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(setup(format!("cannot use WAL (journal mode is {mode})")));
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        migrate(&mut conn).map_err(|e| match e {
            CoreError::Storage(e) => setup(e.to_string()),
            other => other,
        })?;
        let actor = match conn
            .query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
        {
            Some(bytes) => Actor::from_bytes(&bytes)?,
            None => {
                let actor = Actor::random();
                let bytes = hex::decode(actor.to_hex()).unwrap_or_default();
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('actor', ?1)",
                    params![bytes],
                )?;
                actor
            }
        };
        Ok(Self {
            conn,
            actor,
            cache: HashMap::new(),
            recent: VecDeque::new(),
            disk_heads: HashMap::new(),
        })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Read a document as plain values; `None` if this replica has none.
    /// The text being typed shows as typed.
    pub fn record(&mut self, id: &DocId) -> Result<Option<Record>, CoreError> {
        let draft = Draft::load(&self.conn, id)?;
        let Some(mut record) = self.load_cached(id)?.map(|d| d.read()) else {
            return Ok(None);
        };
        if let Some(d) = draft {
            if let Some(text) = record.text_at_mut(&d.target) {
                *text = d.text;
            }
        }
        Ok(Some(record))
    }

    /// The document ids this replica holds, in order.
    pub fn doc_ids(&self) -> Result<Vec<DocId>, CoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id FROM documents ORDER BY doc_id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|r| r.ok())
            .filter_map(|s| DocId::parse(&s).ok())
            .collect();
        Ok(ids)
    }

    /// Documents with changes the server has not acknowledged.
    pub fn pending_docs(&self) -> Result<Vec<DocId>, CoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id FROM documents WHERE pending = 1 ORDER BY doc_id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|r| r.ok())
            .filter_map(|s| DocId::parse(&s).ok())
            .collect();
        Ok(ids)
    }

    /// Apply one edit and store it before returning.
    /// Typing into a text field of a stored document is kept as its draft
    /// (see `crate::draft`): on disk as well, and one change later.
    pub fn edit(&mut self, id: &DocId, edit: &Edit, ctx: &EditContext) -> Result<(), CoreError> {
        if let Some(target) = typed_target(edit) {
            if self.type_text(id, target, edit, ctx)? {
                return Ok(());
            }
        }
        self.edit_with(id, edit, ctx, |_| Ok(()))
    }

    /// Keep a keystroke in the document's draft; `false` if the document
    /// is not stored yet (its first edit makes it, as a change).
    fn type_text(
        &mut self,
        id: &DocId,
        target: &crate::document::TextTarget,
        edit: &Edit,
        ctx: &EditContext,
    ) -> Result<bool, CoreError> {
        let mut draft = Draft::load(&self.conn, id)?;
        if draft
            .as_ref()
            .is_some_and(|d| d.target != *target || d.ctx.user != ctx.user)
        {
            // Another field, or someone else: what was typed before becomes
            // a change first.
            self.flush_draft(id)?;
            draft = None;
        }
        let Some(mut typed) = self.load_cached(id)?.cloned() else {
            return Ok(false);
        };
        if let Some(d) = &draft {
            typed.apply(&d.edit(), &d.ctx)?;
        }
        // Checked as if made: a refused keystroke leaves the draft as it was.
        typed.apply(edit, ctx)?;
        let Some(text) = typed.read().text_at_mut(target).map(std::mem::take) else {
            return Ok(false);
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Draft {
            target: target.clone(),
            text,
            ctx: ctx.clone(),
        }
        .store(&tx, id)?;
        tx.execute(
            "UPDATE documents SET pending = 1 WHERE doc_id = ?1",
            params![id.to_string()],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Make the document's draft, if it has one, the change it stands for.
    fn flush_draft(&mut self, id: &DocId) -> Result<(), CoreError> {
        let Some(draft) = Draft::load(&self.conn, id)? else {
            return Ok(());
        };
        self.store_edit(id, Some(&draft), None, |_| Ok(()))
    }

    /// Attach a prepared photo to an item and queue its upload, in one
    /// transaction: either both happen or neither.
    pub fn attach_photo(
        &mut self,
        id: &DocId,
        item: &ItemId,
        photo: PhotoRef,
        file: &Path,
        size: u64,
        ctx: &EditContext,
    ) -> Result<(), CoreError> {
        let sha = photo.hash.to_string();
        let path = file.display().to_string();
        let edit = Edit::AttachPhoto {
            item: item.clone(),
            photo,
        };
        let now = ctx.now_ms;
        self.edit_with(id, &edit, ctx, |tx| {
            tx.execute(
                "INSERT INTO photo_outbox (sha256, doc_id, item_id, path, size, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (sha256) DO NOTHING",
                params![sha, id.to_string(), item.as_str(), path, size as i64, now],
            )?;
            Ok(())
        })
    }

    /// Store a prepared photo in `photos/` beside the replica file and attach
    /// it to an item, queued for upload. The file is on disk (fsynced, then
    /// renamed into place) before the document refers to it, so the outbox
    /// never names a missing file; if attaching fails, the file is removed
    /// again unless the outbox already holds it from an earlier attach.
    pub fn queue_photo(
        &mut self,
        id: &DocId,
        item: &ItemId,
        photo: &PreparedPhoto,
        ctx: &EditContext,
    ) -> Result<PhotoHash, CoreError> {
        let file = self.store_photo_file(photo)?;
        let size = photo.jpeg.len() as u64;
        if let Err(e) = self.attach_photo(id, item, photo.photo_ref(), &file, size, ctx) {
            self.drop_unqueued(&photo.hash, &file);
            return Err(e);
        }
        Ok(photo.hash.clone())
    }

    /// Make `edit` — which refers to `photos` (a step of an item, made
    /// once and whole with its photos) — and queue the photos' upload under
    /// `item`, in one transaction; each file is on disk first, as for
    /// [`Self::queue_photo`], and removed again if the edit fails.
    pub fn edit_with_photos(
        &mut self,
        id: &DocId,
        edit: &Edit,
        item: &ItemId,
        photos: &[PreparedPhoto],
        ctx: &EditContext,
    ) -> Result<(), CoreError> {
        let mut files = Vec::with_capacity(photos.len());
        for p in photos {
            match self.store_photo_file(p) {
                Ok(f) => files.push(f),
                Err(e) => {
                    for (p, f) in photos.iter().zip(&files) {
                        self.drop_unqueued(&p.hash, f);
                    }
                    return Err(e);
                }
            }
        }
        let now = ctx.now_ms;
        let queued = self.edit_with(id, edit, ctx, |tx| {
            for (p, f) in photos.iter().zip(&files) {
                tx.execute(
                    "INSERT INTO photo_outbox (sha256, doc_id, item_id, path, size, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                     ON CONFLICT (sha256) DO NOTHING",
                    params![
                        p.hash.as_str(),
                        id.to_string(),
                        item.as_str(),
                        f.display().to_string(),
                        p.jpeg.len() as i64,
                        now
                    ],
                )?;
            }
            Ok(())
        });
        if queued.is_err() {
            for (p, f) in photos.iter().zip(&files) {
                self.drop_unqueued(&p.hash, f);
            }
        }
        queued
    }

    /// Check a prepared photo and write it, durably, into `photos/`.
    fn store_photo_file(&self, photo: &PreparedPhoto) -> Result<std::path::PathBuf, CoreError> {
        if PhotoHash::of_bytes(&photo.jpeg) != photo.hash {
            return Err(
                ValidationError::new("photo", "hash does not match the JPEG bytes")
                    .broke(crate::validate::Rule::Mismatch)
                    .into(),
            );
        }
        let dir = match self.conn.path() {
            Some(db) if !db.is_empty() => Path::new(db)
                .parent()
                .unwrap_or(Path::new("."))
                .join("photos"),
            _ => {
                return Err(CoreError::PhotoFile {
                    path: String::new(),
                    reason: "an in-memory replica has no folder for photos".into(),
                })
            }
        };
        let file = dir.join(format!("{}.jpg", photo.hash));
        write_durably(&dir, &file, &photo.jpeg).map_err(|e| CoreError::PhotoFile {
            path: file.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(file)
    }

    /// Remove a photo's file after a failed attach, unless the outbox holds
    /// it from an earlier one. If the lookup itself fails, keep the file:
    /// an unreferenced file costs space, a referenced missing one loses the
    /// photo.
    fn drop_unqueued(&self, hash: &PhotoHash, file: &Path) {
        let queued = self
            .conn
            .query_row(
                "SELECT 1 FROM photo_outbox WHERE sha256 = ?1",
                params![hash.as_str()],
                |_| Ok(()),
            )
            .optional()
            .map_or(true, |row| row.is_some());
        if !queued {
            let _ = std::fs::remove_file(file);
        }
    }

    /// The photo outbox, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxPhoto>, CoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT sha256, doc_id, item_id, path, size, state, acked_bytes, error
             FROM photo_outbox ORDER BY created_at, sha256",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OutboxPhoto {
                    sha256: r.get(0)?,
                    doc: r.get(1)?,
                    item: r.get(2)?,
                    path: r.get(3)?,
                    size: r.get::<_, i64>(4)? as u64,
                    state: r.get(5)?,
                    acked_bytes: r.get::<_, i64>(6)? as u64,
                    error: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Record where an upload stands, so the outbox survives restarts and
    /// the app can show progress, completion or the reason it failed.
    pub fn record_upload(&mut self, state: &UploadState, sha: &PhotoHash) -> Result<(), CoreError> {
        let (name, acked, error) = match state {
            UploadState::Queued => ("queued", None, None),
            UploadState::Uploading { acked, .. } => ("uploading", Some(*acked as i64), None),
            UploadState::Done => ("done", None, None),
            UploadState::Failed { reason } => ("failed", None, Some(reason.as_str())),
        };
        let n = self.conn.execute(
            "UPDATE photo_outbox SET state = ?2, acked_bytes = COALESCE(?3, CASE WHEN ?2 = 'done' THEN size ELSE acked_bytes END),
                 error = ?4, updated_at = ?5 WHERE sha256 = ?1",
            params![sha.as_str(), name, acked, error, now_ms()],
        )?;
        if n == 0 {
            return Err(CoreError::NotFoundPhoto(sha.to_string()));
        }
        Ok(())
    }

    /// Photos still to upload (queued or part-way), oldest first.
    pub fn uploads_pending(&self) -> Result<Vec<OutboxPhoto>, CoreError> {
        Ok(self
            .outbox()?
            .into_iter()
            .filter(|p| p.state == "queued" || p.state == "uploading")
            .collect())
    }

    fn edit_with(
        &mut self,
        id: &DocId,
        edit: &Edit,
        ctx: &EditContext,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        // What was typed comes first, as its own change.
        let draft = Draft::load(&self.conn, id)?;
        self.store_edit(id, draft.as_ref(), Some((edit, ctx)), also)
    }

    /// Apply the draft (if any) and the edit (if any), each its own change,
    /// and store them with the draft gone, in one transaction.
    fn store_edit(
        &mut self,
        id: &DocId,
        draft: Option<&Draft>,
        edit: Option<(&Edit, &EditContext)>,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        // Take the document out of the cache: if anything fails below, the
        // next access reloads it from disk, which is the truth.
        let mut doc = match self.take(id)? {
            Some(d) => d,
            None => Document::create(id.clone(), &self.actor),
        };
        let before = self.disk_heads.get(id).cloned();
        if let Some(d) = draft {
            doc.apply(&d.edit(), &d.ctx)?;
        }
        if let Some((edit, ctx)) = edit {
            doc.apply(edit, ctx)?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let chunks = write_doc(&tx, &mut doc, before.as_deref(), now_ms())?;
        tx.execute(
            "UPDATE documents SET pending = 1 WHERE doc_id = ?1",
            params![id.to_string()],
        )?;
        if draft.is_some() {
            Draft::delete(&tx, id)?;
        }
        also(&tx)?;
        tx.commit()?;
        self.disk_heads.insert(id.clone(), doc.heads());
        if chunks > COMPACT_AFTER_CHUNKS {
            self.compact(&mut doc)?;
        }
        self.remember(id.clone(), doc);
        Ok(())
    }

    /// Keep `doc` decoded, forgetting the least recently used beyond
    /// [`CACHED_DOCS`].
    fn remember(&mut self, id: DocId, doc: Document) {
        self.recent.retain(|d| d != &id);
        self.recent.push_back(id.clone());
        self.cache.insert(id, doc);
        while self.cache.len() > CACHED_DOCS {
            let Some(old) = self.recent.pop_front() else {
                break;
            };
            self.cache.remove(&old);
            self.disk_heads.remove(&old);
        }
    }

    /// Give up this phone's changes to `id` that the server has not taken
    /// (a document it refused): a document the server has is set back to
    /// its first change and fetched whole again by the next sync; one it
    /// never took is removed. Its photos waiting to upload go too (the
    /// server would keep none of them). Returns the photo files removed.
    pub fn discard_local_changes(&mut self, id: &DocId) -> Result<Vec<String>, CoreError> {
        let key = id.to_string();
        let Some(state) = self
            .conn
            .query_row(
                "SELECT sync_state FROM documents WHERE doc_id = ?1",
                params![key],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()?
        else {
            return Ok(Vec::new());
        };
        let genesis = Document::create(id.clone(), &self.actor).save();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let paths = {
            let mut stmt =
                tx.prepare("SELECT path FROM photo_outbox WHERE doc_id = ?1 AND state <> 'done'")?;
            let rows = stmt.query_map(params![key], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        tx.execute(
            "DELETE FROM photo_outbox WHERE doc_id = ?1 AND state <> 'done'",
            params![key],
        )?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", params![key])?;
        Draft::delete(&tx, id)?;
        if state.is_some() {
            tx.execute(
                "UPDATE documents SET snapshot = ?2, chunks = 0, pending = 1, sync_state = NULL,
                     updated_at = ?3
                 WHERE doc_id = ?1",
                params![key, genesis, now_ms()],
            )?;
        } else {
            tx.execute("DELETE FROM documents WHERE doc_id = ?1", params![key])?;
        }
        tx.commit()?;
        self.cache.remove(id);
        self.recent.retain(|d| d != id);
        self.disk_heads.remove(id);
        for p in &paths {
            if let Err(e) = std::fs::remove_file(p) {
                tracing::warn!(path = %p, error = %e, "cannot remove a discarded photo's file");
            }
        }
        Ok(paths)
    }

    /// Write as a new actor from now on, and move this replica's changes the
    /// server has not acknowledged to it (same operations and times, see
    /// [`crate::document::reauthor`]): what a phone does when it becomes a
    /// new device (its old one revoked, or its folder found to be a copy of
    /// another phone's). All or nothing, in one transaction. Returns the new
    /// actor and how many documents and changes moved.
    pub fn take_new_actor(&mut self) -> Result<NewActor, CoreError> {
        // What is being typed goes with the rest, as a change.
        for id in Draft::docs(&self.conn)? {
            self.flush_draft(&id)?;
        }
        let old = self.actor.clone();
        let new = Actor::random();
        let mut moved = Vec::new();
        let mut changes = 0;
        for id in self.pending_docs()? {
            let shared =
                crate::session::persisted_heads(ClientStore::sync_state(self, &id)?.as_deref());
            let Some(mut doc) = self.load_cached(&id)?.cloned() else {
                continue;
            };
            let n = doc
                .move_to_actor(&shared, &old, &new)
                .map_err(|e| CoreError::Corrupt {
                    doc: id.to_string(),
                    reason: format!("cannot move its unsynced changes to a new actor: {e}"),
                })?;
            if n > 0 {
                changes += n;
                moved.push(doc);
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ms();
        for doc in &mut moved {
            replace_stored(&tx, doc, now)?;
        }
        let bytes = hex::decode(new.to_hex()).unwrap_or_default();
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'actor'",
            params![bytes],
        )?;
        tx.commit()?;
        tracing::info!(
            old = %old.to_hex(),
            new = %new.to_hex(),
            docs = moved.len(),
            changes,
            "replica moved to a new actor"
        );
        self.actor = new.clone();
        // Every decoded document writes as the old actor: decode again.
        self.cache.clear();
        self.recent.clear();
        self.disk_heads.clear();
        Ok(NewActor {
            actor: new,
            docs: moved.len(),
            changes,
        })
    }

    /// Forget everything this replica holds, as a fresh install: records,
    /// photos waiting to upload (their files too), settings and sessions
    /// kept in `meta`, and the actor (a new one is made). All or nothing.
    /// Returns how many documents were removed. The caller checks first
    /// that nothing unsynced is lost (or that the user chose to).
    pub fn wipe(&mut self) -> Result<usize, CoreError> {
        let new = Actor::random();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let paths = {
            let mut stmt = tx.prepare("SELECT path FROM photo_outbox")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        tx.execute("DELETE FROM photo_outbox", [])?;
        tx.execute("DELETE FROM text_drafts", [])?;
        tx.execute("DELETE FROM chunks", [])?;
        let docs = tx.execute("DELETE FROM documents", [])?;
        tx.execute("DELETE FROM meta", [])?;
        let bytes = hex::decode(new.to_hex()).unwrap_or_default();
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('actor', ?1)",
            params![bytes],
        )?;
        tx.commit()?;
        self.actor = new;
        self.cache.clear();
        self.recent.clear();
        self.disk_heads.clear();
        for p in &paths {
            if let Err(e) = std::fs::remove_file(p) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %p, error = %e, "cannot remove a wiped photo's file");
                }
            }
        }
        Ok(docs)
    }

    /// How many documents are decoded in memory.
    pub fn cached_docs(&self) -> usize {
        self.cache.len()
    }

    /// Fold a document's incremental chunks into its snapshot.
    fn compact(&mut self, doc: &mut Document) -> Result<(), CoreError> {
        let id = doc.id().to_string();
        let snapshot = doc.save();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", params![id])?;
        tx.execute(
            "UPDATE documents SET snapshot = ?2, chunks = 0 WHERE doc_id = ?1",
            params![id, snapshot],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn take(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        if let Some(d) = self.cache.remove(id) {
            self.recent.retain(|d| d != id);
            return Ok(Some(d));
        }
        self.read_from_disk(id)
    }

    fn load_cached(&mut self, id: &DocId) -> Result<Option<&Document>, CoreError> {
        if self.cache.contains_key(id) {
            if self.recent.back() != Some(id) {
                self.recent.retain(|d| d != id);
                self.recent.push_back(id.clone());
            }
        } else {
            match self.read_from_disk(id)? {
                Some(doc) => self.remember(id.clone(), doc),
                None => return Ok(None),
            }
        }
        Ok(self.cache.get(id))
    }

    fn read_from_disk(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        let key = id.to_string();
        let Some(snapshot) = self
            .conn
            .query_row(
                "SELECT snapshot FROM documents WHERE doc_id = ?1",
                params![key],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()?
        else {
            return Ok(None);
        };
        let mut doc = Document::load_stored(id.clone(), &snapshot, &self.actor)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM chunks WHERE doc_id = ?1 ORDER BY seq")?;
        let chunks = stmt
            .query_map(params![key], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in chunks {
            contain(id, "load change chunk", || {
                doc.automerge_mut().load_incremental(&chunk)
            })?;
        }
        self.disk_heads.insert(id.clone(), doc.heads());
        Ok(Some(doc))
    }

    /// The heads of what is stored for `id`, `None` if nothing is.
    fn stored_heads(&mut self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, CoreError> {
        if !self.disk_heads.contains_key(id) {
            self.load_cached(id)?;
        }
        Ok(self.disk_heads.get(id).cloned())
    }

    /// A reply's document computed from an older state than the stored one
    /// (the phone edited while the reply was applied, outside the replica's
    /// lock): merge it into the stored document, so that the edit is kept
    /// and stays pending. Returns the heads on disk.
    fn rebase(&mut self, w: &mut ClientDocWrite) -> Result<Option<Vec<ChangeHash>>, CoreError> {
        let id = w.doc.id().clone();
        let stored_heads = self.stored_heads(&id)?;
        if stored_heads == w.base {
            return Ok(stored_heads);
        }
        let Some(mut stored) = self.take(&id)? else {
            return Ok(stored_heads);
        };
        contain(&id, "merge a reply into a newer edit", || {
            stored.automerge_mut().merge(w.doc.automerge_mut())
        })?;
        tracing::debug!(doc = %id, "a reply merged into an edit made while it was applied");
        w.doc = stored;
        w.synced = false;
        Ok(stored_heads)
    }

    /// A value kept with the replica (session data of the app layer).
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, CoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), CoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

/// Store `doc` whole in place of what is stored for it: its history was
/// rewritten (same content), so the stored chunks no longer apply.
fn replace_stored(
    tx: &rusqlite::Transaction<'_>,
    doc: &mut Document,
    now: i64,
) -> Result<(), CoreError> {
    let key = doc.id().to_string();
    tx.execute("DELETE FROM chunks WHERE doc_id = ?1", params![key])?;
    tx.execute(
        "UPDATE documents SET snapshot = ?2, chunks = 0, updated_at = ?3 WHERE doc_id = ?1",
        params![key, doc.save(), now],
    )?;
    Ok(())
}

/// Store a document's new changes: the whole document if it is new on
/// disk, else the changes since `disk_heads` as one chunk. Returns the number
/// of chunks the document now has.
fn write_doc(
    tx: &rusqlite::Transaction<'_>,
    doc: &mut Document,
    disk_heads: Option<&[ChangeHash]>,
    now: i64,
) -> Result<i64, CoreError> {
    let key = doc.id().to_string();
    match disk_heads {
        None => {
            let snapshot = doc.save();
            tx.execute(
                "INSERT INTO documents (doc_id, snapshot, updated_at) VALUES (?1, ?2, ?3)",
                params![key, snapshot, now],
            )?;
            Ok(0)
        }
        Some(heads) => {
            let bytes = doc.automerge_mut().save_after(heads);
            if bytes.is_empty() {
                return Ok(0);
            }
            let chunks: i64 = tx.query_row(
                "UPDATE documents SET chunks = chunks + 1, updated_at = ?2 WHERE doc_id = ?1
                 RETURNING chunks",
                params![key, now],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO chunks (doc_id, seq, bytes)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE doc_id = ?1), ?2)",
                params![key, bytes],
            )?;
            Ok(chunks)
        }
    }
}

/// Write `bytes` to `file` so that it survives a crash once this returns:
/// a temporary name, fsync, rename, fsync of the folder.
fn write_durably(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if !dir.is_dir() {
        std::fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    let tmp = file.with_extension("jpg.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, file)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    // Only Unix can open and fsync a directory; the phones are Unix.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), CoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(CoreError::NewerReplica {
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

impl ClientStore for Replica {
    fn actor(&self) -> Actor {
        self.actor.clone()
    }

    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        Ok(self.load_cached(id)?.cloned())
    }

    fn load_to_send(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.flush_draft(id)?;
        Ok(self.load_cached(id)?.cloned())
    }

    fn sync_state(&mut self, id: &DocId) -> Result<Option<Vec<u8>>, CoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT sync_state FROM documents WHERE doc_id = ?1",
                params![id.to_string()],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()?
            .flatten())
    }

    fn pending(&mut self) -> Result<Vec<DocId>, CoreError> {
        self.pending_docs()
    }

    /// The cursor of the last sync. Kept under `cursor.items` since this
    /// version asks for items: a replica of an older version, whose cursor
    /// went past items it was never sent, starts again from 0 once and so
    /// receives every item already issued to its user.
    fn cursor(&mut self) -> Result<u64, CoreError> {
        Ok(self
            .meta(CURSOR_KEY)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    fn commit_sync(&mut self, mut writes: ClientWrites) -> Result<(), CoreError> {
        let now = now_ms();
        // What is on disk for each document, taken before the transaction:
        // loading one document may push another out of the cache.
        let mut on_disk = Vec::with_capacity(writes.docs.len());
        for w in &mut writes.docs {
            // What is being typed was typed on the document as it was
            // before this reply: it becomes a change before the merge.
            self.flush_draft(w.doc.id())?;
            on_disk.push(self.rebase(w)?);
        }
        let mut done = Vec::new();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (mut w, before) in writes.docs.into_iter().zip(on_disk) {
            let id = w.doc.id().clone();
            let chunks = write_doc(&tx, &mut w.doc, before.as_deref(), now)?;
            tx.execute(
                "UPDATE documents SET sync_state = ?2,
                     pending = CASE WHEN ?3 THEN 0 ELSE pending END
                 WHERE doc_id = ?1",
                params![id.to_string(), w.state, w.synced],
            )?;
            done.push((w.doc, chunks));
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![CURSOR_KEY, writes.cursor.to_be_bytes().to_vec()],
        )?;
        tx.commit()?;
        for (mut doc, chunks) in done {
            let id = doc.id().clone();
            self.disk_heads.insert(id.clone(), doc.heads());
            if chunks > COMPACT_AFTER_CHUNKS {
                self.compact(&mut doc)?;
            }
            self.remember(id, doc);
        }
        Ok(())
    }
}

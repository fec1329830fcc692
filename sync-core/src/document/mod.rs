//! One Automerge document per diary, night log or monthly plan, with a
//! skeleton every replica computes identically.
//!
//! Architecture invariant: the genesis change of a document depends only on
//! its id. Two phones that both start the same day offline produce the
//! byte-identical first change (same actor, same time, same operations), so
//! when they meet neither root object hides the other's: every entry of both
//! survives. The genesis of a kind is frozen forever; later schema versions
//! add fields inside items or new root keys, never a different skeleton.

mod admit;
mod chunk;
mod chunk_view;
pub mod item;
mod model;
mod new_ops;
pub mod policy;
mod read;
mod reauthor;
pub mod schema;
mod write;

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT};

pub use admit::{admit_message, AdmitError, MessageCost, RequestBudget, MAX_MESSAGE_OPS};
pub(crate) use chunk::forget_inflated;
pub use model::*;
pub use new_ops::{NewChange, NewOps, NewOpsSource, OpAction, OpTarget, OpValue};
pub use reauthor::{reauthor, ReauthorError, Reauthored};
pub use write::check_brief;

use crate::error::CoreError;
use crate::ids::{DocId, DocKind};

/// The skeleton's schema number. Newer writers record their own schema
/// number on each item they create (`schema` key of the item).
pub const SCHEMA: u64 = 1;

/// The actor of every genesis change. No device may register it.
pub const GENESIS_ACTOR: &[u8; 16] = b"jishi-genesis-v1";

/// Root keys nobody may write after genesis.
pub const IMMUTABLE_ROOT_KEYS: &[&str] = &["kind", "schema", "owner", "date", "month", "id"];

/// The device's Automerge actor: 16 random bytes, registered with the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor(ActorId);

impl Actor {
    pub fn random() -> Self {
        // ItemId::random is 16 random bytes in hex, with a fallback when the
        // OS has no entropy source.
        let bytes = hex::decode(crate::ids::ItemId::random().as_str()).unwrap_or_default();
        Self(ActorId::from(&bytes[..]))
    }
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::validate::ValidationError> {
        if bytes.is_empty() || bytes.len() > 32 || bytes == GENESIS_ACTOR {
            return Err(crate::validate::ValidationError::new(
                "actor",
                "must be 1 to 32 bytes and not the genesis actor",
            ));
        }
        Ok(Self(ActorId::from(bytes)))
    }
    pub fn from_hex(s: &str) -> Result<Self, crate::validate::ValidationError> {
        let bytes = hex::decode(s)
            .map_err(|_| crate::validate::ValidationError::new("actor", "must be hex"))?;
        Self::from_bytes(&bytes)
    }
    pub fn to_hex(&self) -> String {
        self.0.to_hex_string()
    }
    pub fn as_actor_id(&self) -> &ActorId {
        &self.0
    }
}

/// The genesis document of `id`: the shared skeleton, one change, by the
/// genesis actor, at time 0.
#[allow(
    clippy::expect_used,
    reason = "a fresh document in memory takes any write; the genesis bytes are pinned by tests"
)]
pub fn genesis(id: &DocId) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&GENESIS_ACTOR[..]));
    build_skeleton(&mut doc, id).expect("writing to a fresh document cannot fail");
    doc.commit_with(CommitOptions::default().with_time(0));
    doc
}

fn build_skeleton(doc: &mut AutoCommit, id: &DocId) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "kind", id.kind().as_str())?;
    doc.put(ROOT, "schema", SCHEMA)?;
    if let Some(owner) = id.owner() {
        doc.put(ROOT, "owner", owner.as_str())?;
    }
    let period = id.period_or_key();
    match id.kind() {
        DocKind::Diary => {
            doc.put(ROOT, "date", period)?;
            doc.put_object(ROOT, "entries", ObjType::Map)?;
            doc.put_object(ROOT, "summary", ObjType::Text)?;
        }
        DocKind::Night => {
            doc.put(ROOT, "date", period)?;
            doc.put_object(ROOT, "activities", ObjType::Map)?;
        }
        DocKind::Plan => {
            doc.put(ROOT, "month", period)?;
            doc.put_object(ROOT, "tasks", ObjType::Map)?;
            doc.put_object(ROOT, "summary", ObjType::Text)?;
        }
        DocKind::Item => {
            doc.put(ROOT, "id", period)?;
            doc.put_object(ROOT, "brief", ObjType::Map)?;
            doc.put_object(ROOT, "steps", ObjType::Map)?;
        }
    }
    doc.put_object(ROOT, "comments", ObjType::Map)?;
    Ok(())
}

/// The hash of the genesis change of `id`: the server accepts a change by the
/// genesis actor only if it has exactly this hash.
///
/// The server asks this of every new document, and building the genesis
/// document to find out (what [`genesis`] does) was 7% of its CPU under
/// the Monday load. The genesis change of a kind differs between ids only
/// in two values, the owner and the period (an item's in one, its key):
/// the change of a template id of
/// the kind, built once, gets the id's two values and is encoded and hashed
/// alone (`genesis_hash_matches_the_built_genesis` holds the two to the
/// same hash).
pub fn genesis_hash(id: &DocId) -> ChangeHash {
    let mut change = genesis_template(id.kind()).clone();
    for op in &mut change.operations {
        let value = match &op.key {
            automerge::legacy::Key::Map(k) if k == "owner" => match id.owner() {
                Some(owner) => owner.as_str().to_owned(),
                None => continue,
            },
            automerge::legacy::Key::Map(k) if k == "date" || k == "month" || k == "id" => {
                id.period_or_key()
            }
            _ => continue,
        };
        op.action = automerge::legacy::OpType::Put(automerge::ScalarValue::Str(value.into()));
    }
    automerge::Change::from(change).hash()
}

/// The genesis change of a fixed id of `kind`, decoded, built once.
#[allow(
    clippy::expect_used,
    reason = "fixed ids and a document made just above: checked by every test that makes a document"
)]
fn genesis_template(kind: DocKind) -> &'static automerge::ExpandedChange {
    use std::sync::OnceLock;
    static TEMPLATES: [OnceLock<automerge::ExpandedChange>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let (slot, id) = match kind {
        DocKind::Diary => (&TEMPLATES[0], "diary:genesis-template:2000-01-01"),
        DocKind::Night => (&TEMPLATES[1], "night:genesis-template:2000-01-01"),
        DocKind::Plan => (&TEMPLATES[2], "plan:genesis-template:2000-01"),
        DocKind::Item => (&TEMPLATES[3], "item:00000000000000000000000000000000"),
    };
    slot.get_or_init(|| {
        let id = DocId::parse(id).expect("the template ids are valid");
        let mut doc = genesis(&id);
        let hash = doc.get_heads()[0];
        doc.get_change_by_hash(&hash)
            .expect("a document has the change of its head")
            .decode()
    })
}

/// Run Automerge code that may panic on hostile input; a panic becomes an
/// error for this document only.
pub(crate) fn contain<T, E: std::fmt::Display>(
    doc: &impl ToString,
    what: &str,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, CoreError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(CoreError::corrupt(doc.to_string(), format!("{what}: {e}"))),
        Err(_) => Err(CoreError::corrupt(
            doc.to_string(),
            format!("{what}: the Automerge library failed on this input"),
        )),
    }
}

/// A typed document: an Automerge document whose id and skeleton are known.
#[derive(Debug, Clone)]
pub struct Document {
    id: DocId,
    doc: AutoCommit,
}

impl Document {
    /// A new document on this device: the genesis skeleton, then writes by
    /// `actor`.
    pub fn create(id: DocId, actor: &Actor) -> Self {
        let mut doc = genesis(&id);
        doc.set_actor(actor.0.clone());
        Self { id, doc }
    }

    /// A document this replica has only heard of: no changes yet. Sync fills
    /// it in.
    pub fn empty(id: DocId, actor: &Actor) -> Self {
        Self {
            id,
            doc: AutoCommit::new().with_actor(actor.0.clone()),
        }
    }

    /// Rewrite this document's changes by `old` that `shared` (the heads the
    /// server acknowledged) does not cover as changes by `new`, and write
    /// as `new` from now on ([`reauthor`]). Returns how many changes moved.
    pub fn move_to_actor(
        &mut self,
        shared: &[ChangeHash],
        old: &Actor,
        new: &Actor,
    ) -> Result<usize, ReauthorError> {
        match reauthor(&mut self.doc, shared, &old.0, &new.0)? {
            Some(moved) => {
                self.doc = moved.doc;
                Ok(moved.changes)
            }
            None => {
                self.doc.set_actor(new.0.clone());
                Ok(0)
            }
        }
    }

    /// Load bytes from outside (a file, the network). Corrupt bytes, bytes
    /// of another document, and bytes whose save would not load again are an
    /// error; Automerge panics on hostile input are contained.
    pub fn load(id: DocId, bytes: &[u8], actor: &Actor) -> Result<Self, CoreError> {
        let mut document = Self::load_stored(id, bytes, actor)?;
        document.verify_save()?;
        Ok(document)
    }

    /// Load bytes this program saved itself from a document that passed
    /// [`Document::verify_save`] (the server's store, the phone's replica):
    /// the same checks as [`Document::load`] but the reload.
    pub fn load_stored(id: DocId, bytes: &[u8], actor: &Actor) -> Result<Self, CoreError> {
        let mut doc = contain(&id, "load", || AutoCommit::load(bytes))?;
        doc.set_actor(actor.0.clone());
        let document = Self { id, doc };
        document.check_identity()?;
        Ok(document)
    }

    /// Save, and check that the save loads again. Automerge accepts a change
    /// chunk that is not its own encoding of the change (found by fuzzing)
    /// but then saves a document that does not load: stored, it would be
    /// lost at the next load. Every place where changes from outside enter a
    /// document (load, sync) calls this before storing. The save of a clone
    /// leaves this document's save cursor alone.
    pub fn verify_save(&mut self) -> Result<Vec<u8>, CoreError> {
        let bytes = self.doc.clone().save();
        contain(&self.id, "reload the save", || AutoCommit::load(&bytes))?;
        Ok(bytes)
    }

    /// [`Document::verify_save`] for a document that was empty before it
    /// received `loaded` (a new document's first sync message carries the
    /// sender's save). Automerge loaded those bytes into the empty document
    /// with the checks of [`AutoCommit::load`] (heads verified; see
    /// `load_incremental` of an empty document), so when they are exactly
    /// one document chunk — nothing a partial load could have skipped —
    /// they are known to load to this document, and are what is stored:
    /// neither a save (its compression is half its cost) nor a reload (six
    /// times the save) is needed. Anything else is saved and reloaded.
    pub fn verify_save_of_loaded(&mut self, loaded: &[u8]) -> Result<Vec<u8>, CoreError> {
        if is_one_document_chunk(loaded) {
            return Ok(loaded.to_vec());
        }
        self.verify_save()
    }

    /// Wrap a document received from elsewhere (e.g. built by sync), checking
    /// it is the document `id` claims.
    pub fn from_automerge(id: DocId, doc: AutoCommit) -> Result<Self, CoreError> {
        let document = Self { id, doc };
        document.check_identity()?;
        Ok(document)
    }

    /// An empty document has no changes yet (a replica that has only heard of
    /// the id); anything else must carry this id's skeleton.
    pub(crate) fn check_identity(&self) -> Result<(), CoreError> {
        if self.doc.is_empty() {
            return Ok(());
        }
        let kind = read::str_at(&self.doc, &ROOT, "kind");
        let owner = read::str_at(&self.doc, &ROOT, "owner");
        let period_key = match self.id.kind() {
            DocKind::Plan => "month",
            DocKind::Diary | DocKind::Night => "date",
            DocKind::Item => "id",
        };
        let period = read::str_at(&self.doc, &ROOT, period_key);
        if kind.as_deref() != Some(self.id.kind().as_str())
            || owner.as_deref() != self.id.owner().map(|o| o.as_str())
            || period.as_deref() != Some(self.id.period_or_key().as_str())
        {
            return Err(CoreError::corrupt(
                &self.id,
                "the bytes hold another document (kind, owner or date differ)",
            ));
        }
        Ok(())
    }

    pub fn id(&self) -> &DocId {
        &self.id
    }

    pub fn set_actor(&mut self, actor: &Actor) {
        self.doc.set_actor(actor.0.clone());
    }

    /// Full, compacted save.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes since the last save or incremental save.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The Automerge document, for the sync protocol and for the server's
    /// checks.
    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }
    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// The document as plain values.
    pub fn read(&self) -> Record {
        read::record(&self.id, &self.doc)
    }

    /// Apply one typed edit as one Automerge change. Nothing is written when
    /// the edit is refused.
    pub fn apply(&mut self, edit: &Edit, ctx: &EditContext) -> Result<(), CoreError> {
        let result = write::apply(&self.id, &mut self.doc, edit, ctx).and_then(|()| {
            // Every character ever typed stays an operation: a document
            // the server would refuse as full is refused here first.
            let ops =
                usize::try_from(automerge::ReadDoc::stats(&self.doc).num_ops).unwrap_or(usize::MAX);
            if ops > crate::validate::MAX_DOC_OPS {
                return Err(CoreError::TooMany {
                    doc: self.id.clone(),
                    what: "operations (edits) in one document",
                    max: crate::validate::MAX_DOC_OPS,
                });
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                self.doc
                    .commit_with(CommitOptions::default().with_time(ctx.now_ms.div_euclid(1000)));
                Ok(())
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }
}

/// Are `bytes` exactly one Automerge document chunk, with nothing after it
/// (no change chunks, no trailing bytes)? The header alone is read; the
/// caller knows the chunk loaded.
fn is_one_document_chunk(bytes: &[u8]) -> bool {
    chunk::document_chunk_body(bytes).is_some()
}

#[cfg(test)]
mod tests;

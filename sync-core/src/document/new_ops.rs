//! What a sync added to a document, in the terms of the server's write
//! checks: the new changes (hash and actor) and where every new operation
//! writes.

use std::collections::{HashMap, HashSet};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, ChangeHash, ReadDoc};

use super::chunk::{scan_document_chunk, ScannedChunk, ScannedObj};
use super::{contain, read, Document, Record};
use crate::error::CoreError;

/// Where new operations write and what they do there: one per distinct
/// (actor, object, key, action), whatever the number of operations (every
/// character typed is one operation on the same text object, and they
/// differ only in the character, which is not kept: see [`OpAction`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpTarget {
    pub actor: ActorId,
    pub obj: ObjectId,
    /// The map key; `None` for a list or text element.
    pub key: Option<String>,
    pub action: OpAction,
}

impl OpTarget {
    /// Removes what is there rather than writing a value.
    pub fn is_delete(&self) -> bool {
        self.action == OpAction::Delete
    }
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OpAction {
    /// Makes an object of this type.
    Make(automerge::ObjType),
    /// Sets a scalar. A list or text element's value keeps only its type
    /// (a string is `Str("")`): a text's characters are checked on the
    /// merged text.
    Set(OpValue),
    /// Removes a key's value or an element.
    Delete,
    /// Adds to a counter.
    Increment,
    /// Begins or ends a mark over text.
    Mark,
}

/// A scalar value, comparable and hashable (a float by its bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OpValue {
    Null,
    Bool(bool),
    Uint(u64),
    Int(i64),
    F64(u64),
    Str(String),
    Bytes,
    Counter,
    Timestamp(i64),
    /// A type this version of Automerge does not know.
    Unknown,
}

impl OpValue {
    pub fn of(v: &automerge::ScalarValue) -> Self {
        use automerge::ScalarValue as S;
        match v {
            S::Null => OpValue::Null,
            S::Boolean(b) => OpValue::Bool(*b),
            S::Uint(u) => OpValue::Uint(*u),
            S::Int(i) => OpValue::Int(*i),
            S::F64(f) => OpValue::F64(f.to_bits()),
            S::Str(s) => OpValue::Str(s.to_string()),
            S::Bytes(_) => OpValue::Bytes,
            S::Counter(_) => OpValue::Counter,
            S::Timestamp(t) => OpValue::Timestamp(*t),
            S::Unknown { .. } => OpValue::Unknown,
        }
    }

    /// The value's type alone, as an element's is kept.
    pub fn kind_only(self) -> Self {
        match self {
            OpValue::Str(_) => OpValue::Str(String::new()),
            OpValue::Bool(_) => OpValue::Bool(false),
            OpValue::Uint(_) => OpValue::Uint(0),
            OpValue::Int(_) => OpValue::Int(0),
            OpValue::F64(_) => OpValue::F64(0),
            OpValue::Timestamp(_) => OpValue::Timestamp(0),
            other => other,
        }
    }
}

/// A change new since the stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub hash: ChangeHash,
    pub actor: ActorId,
}

/// What a sync added to a document.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOps {
    pub changes: Vec<NewChange>,
    /// Operations in the new changes.
    pub op_count: usize,
    pub targets: Vec<OpTarget>,
    /// Objects the new operations made in a map: the object each was made
    /// in and its key there. Walking up it gives a new object's path
    /// without asking Automerge (whose `parents` was 5% of the server's CPU
    /// under the Monday load); Automerge says the same (tested).
    pub made: HashMap<ObjectId, (ObjectId, String)>,
    /// The document's record, when it was read from the chunk's columns
    /// along with the operations (a plain new document: see
    /// `chunk_view.rs`); `None`: read it with [`Document::read`].
    pub record: Option<Record>,
}

/// How [`Document::new_ops`] found them (for tests and measurements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewOpsSource {
    /// Scanned from the document chunk that made the document.
    Chunk,
    /// Automerge rebuilt the changes and expanded their operations.
    Changes,
}

impl Document {
    /// What is new in this document since `since` (the heads of the stored
    /// version). `arrived_whole`: the bytes this document was loaded from
    /// when it was empty before (a new document's first sync message
    /// carries the sender's save); when they are one document chunk that
    /// matches the loaded document, its op columns are read directly
    /// instead of rebuilding every change. Anything else, or any doubt
    /// about the chunk, takes Automerge's own rebuild.
    ///
    /// An error when Automerge fails on the document (hostile input can
    /// make its rebuild panic); the document should be refused.
    pub fn new_ops(
        &mut self,
        since: &[ChangeHash],
        arrived_whole: Option<&[u8]>,
    ) -> Result<NewOps, CoreError> {
        Ok(self.new_ops_with_source(since, arrived_whole)?.0)
    }

    pub fn new_ops_with_source(
        &mut self,
        since: &[ChangeHash],
        arrived_whole: Option<&[u8]>,
    ) -> Result<(NewOps, NewOpsSource), CoreError> {
        if since.is_empty() {
            if let Some(scanned) = arrived_whole.and_then(|bytes| self.scan_own_chunk(bytes)) {
                let changes = self.new_changes(since);
                let actors = &scanned.actors;
                let object = |obj: ScannedObj| match obj {
                    None => ObjectId::Root,
                    Some((counter, actor)) => ObjectId::Id(OpId(counter, actors[actor].clone())),
                };
                let targets = scanned
                    .targets
                    .iter()
                    .map(|t| OpTarget {
                        actor: actors[t.actor].clone(),
                        obj: object(t.obj),
                        key: t.key.clone(),
                        action: t.action.clone(),
                    })
                    .collect();
                let made = scanned
                    .made
                    .iter()
                    .map(|(id, parent, key)| (object(Some(*id)), (object(*parent), key.clone())))
                    .collect();
                let record = scanned.view.map(|view| {
                    let record = read::record(&self.id, &view);
                    debug_assert_eq!(record, self.read(), "{}: the chunk's view", self.id);
                    record
                });
                let ops = NewOps {
                    changes,
                    op_count: scanned.ops,
                    targets,
                    made,
                    record,
                };
                return Ok((ops, NewOpsSource::Chunk));
            }
        }
        let id = self.id.clone();
        let ops = contain(&id, "rebuild the new changes", || {
            Ok::<_, std::convert::Infallible>(self.rebuilt_new_ops(since))
        })?;
        Ok((ops, NewOpsSource::Changes))
    }

    /// The chunk's scan, if it is this whole document: the same heads and
    /// as many operations as the loaded document holds.
    fn scan_own_chunk(&mut self, bytes: &[u8]) -> Option<ScannedChunk> {
        let expected = usize::try_from(self.doc.stats().num_ops).ok()?;
        let scanned = scan_document_chunk(bytes, expected).ok()?;
        let mut heads = scanned.heads.clone();
        heads.sort_unstable();
        (scanned.ops == expected && heads == self.heads()).then_some(scanned)
    }

    fn new_changes(&mut self, since: &[ChangeHash]) -> Vec<NewChange> {
        self.doc
            .get_changes_meta(since)
            .into_iter()
            .map(|c| NewChange {
                hash: c.hash,
                actor: c.actor.into_owned(),
            })
            .collect()
    }

    /// Automerge's own answer: every new change rebuilt and expanded.
    fn rebuilt_new_ops(&mut self, since: &[ChangeHash]) -> NewOps {
        let mut changes = Vec::new();
        let mut op_count = 0;
        let mut seen = HashSet::new();
        let mut targets = Vec::new();
        let mut made = HashMap::new();
        for change in self.doc.get_changes(since) {
            let actor = change.actor_id().clone();
            changes.push(NewChange {
                hash: change.hash(),
                actor: actor.clone(),
            });
            op_count += change.len();
            let start_op = change.start_op().get();
            for (i, op) in change.decode().operations.into_iter().enumerate() {
                if let (OpType::Make(_), Key::Map(k)) = (&op.action, &op.key) {
                    if let Some(counter) = start_op.checked_add(i as u64) {
                        let id = OpId(counter, actor.clone());
                        made.insert(ObjectId::Id(id), (op.obj.clone(), k.to_string()));
                    }
                }
                let key = match &op.key {
                    Key::Map(k) => Some(k.to_string()),
                    Key::Seq(_) => None,
                };
                let action = match &op.action {
                    OpType::Make(ty) => OpAction::Make(*ty),
                    OpType::Delete => OpAction::Delete,
                    OpType::Increment(_) => OpAction::Increment,
                    OpType::Put(v) if key.is_some() => OpAction::Set(OpValue::of(v)),
                    OpType::Put(v) => OpAction::Set(OpValue::of(v).kind_only()),
                    OpType::MarkBegin(..) | OpType::MarkEnd(_) => OpAction::Mark,
                };
                let target = OpTarget {
                    actor: actor.clone(),
                    key,
                    action,
                    obj: op.obj,
                };
                if seen.insert(target.clone()) {
                    targets.push(target);
                }
            }
        }
        NewOps {
            changes,
            op_count,
            targets,
            made,
            record: None,
        }
    }
}

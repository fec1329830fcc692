//! What a sync added to a document, in the terms of the server's write
//! checks: the new changes (hash and actor) and where every new operation
//! writes.

use std::collections::{HashMap, HashSet};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, ChangeHash, ReadDoc};

use super::chunk::{scan_document_chunk, ScannedChunk, ScannedObj};
use super::{contain, read, Document, Record};
use crate::error::CoreError;

/// Where new operations write: one per distinct (actor, object, key,
/// delete), whatever the number of operations (every character typed is
/// one operation on the same text object).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpTarget {
    pub actor: ActorId,
    pub obj: ObjectId,
    /// The map key; `None` for a list or text element.
    pub key: Option<String>,
    /// Removes what is there rather than writing a value.
    pub delete: bool,
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
                        delete: t.delete,
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
                let target = OpTarget {
                    actor: actor.clone(),
                    key: match &op.key {
                        Key::Map(k) => Some(k.to_string()),
                        Key::Seq(_) => None,
                    },
                    delete: matches!(op.action, OpType::Delete),
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

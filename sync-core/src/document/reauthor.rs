//! Moving a document's unsynced changes to a new actor.
//!
//! A phone becomes a new device when its old one was revoked, or when its
//! folder turns out to be a copy of another phone's (restored from a backup,
//! cloned): the server takes changes only by the actors of the device that
//! sends them, and two copies writing as one actor would make two different
//! changes with the same actor and sequence number. The changes the server
//! has not acknowledged are therefore rewritten as the new actor: the same
//! operations, times and messages, on the same dependencies, with the new
//! actor's sequence numbers. Their operation ids change actor (counters stay,
//! so nothing else in the document has to move), and every later change
//! names the rewritten ones by their new hashes.
//!
//! The old actor's changes the server has stay as they are: the rewrite
//! starts at the heads both sides had (`shared`). The old actor's unsynced
//! changes are a suffix of its sequence (each change depends on the one
//! before it of the same actor), so an operation id of the old actor at or
//! after the first rewritten change's start belongs to a rewritten change.

use std::collections::HashMap;

use automerge::legacy::{ElementId, Key, ObjectId, OpId};
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ExpandedChange};

/// Why a document could not be moved to the new actor.
#[derive(Debug, thiserror::Error)]
pub enum ReauthorError {
    /// A change by another actor depends on one being rewritten: someone
    /// else saw a change the server never acknowledged. Rewriting would
    /// change their change too.
    #[error("change {0} of another actor depends on an unsynced change of this one")]
    Entangled(ChangeHash),
    #[error("the heads the server acknowledged are not in this document: {0}")]
    MissingHeads(String),
    #[error("the rewritten changes do not apply: {0}")]
    Apply(String),
}

/// What [`reauthor`] made: the document rebuilt with the new actor, and
/// how many changes moved.
pub struct Reauthored {
    pub doc: AutoCommit,
    pub changes: usize,
}

/// Rewrite the changes of `doc` by `old` that `shared` does not cover as
/// changes by `new`. `None`: there are none, nothing to do.
pub fn reauthor(
    doc: &mut AutoCommit,
    shared: &[ChangeHash],
    old: &ActorId,
    new: &ActorId,
) -> Result<Option<Reauthored>, ReauthorError> {
    let local = doc.get_changes(shared);
    let Some(first_op) = local
        .iter()
        .filter(|c| c.actor_id() == old)
        .map(|c| c.start_op().get())
        .min()
    else {
        return Ok(None);
    };
    let mut base = doc
        .fork_at(shared)
        .map_err(|e| ReauthorError::MissingHeads(e.to_string()))?;
    let mut hashes: HashMap<ChangeHash, ChangeHash> = HashMap::new();
    let mut seq = 0;
    let mut rebuilt = Vec::with_capacity(local.len());
    for change in local {
        if change.actor_id() != old {
            if change.deps().iter().any(|d| hashes.contains_key(d)) {
                return Err(ReauthorError::Entangled(change.hash()));
            }
            rebuilt.push(change);
            continue;
        }
        seq += 1;
        let mut expanded: ExpandedChange = change.decode();
        expanded.hash = None;
        expanded.actor_id = new.clone();
        expanded.seq = seq;
        expanded.deps = expanded
            .deps
            .iter()
            .map(|d| hashes.get(d).copied().unwrap_or(*d))
            .collect();
        let moved = |id: &mut OpId| {
            if id.1 == *old && id.0 >= first_op {
                id.1 = new.clone();
            }
        };
        for op in &mut expanded.operations {
            if let ObjectId::Id(id) = &mut op.obj {
                moved(id);
            }
            if let Key::Seq(ElementId::Id(id)) = &mut op.key {
                moved(id);
            }
            op.pred = op
                .pred
                .iter()
                .cloned()
                .map(|mut p| {
                    moved(&mut p);
                    p
                })
                .collect();
        }
        let rewritten = Change::from(expanded);
        hashes.insert(change.hash(), rewritten.hash());
        rebuilt.push(rewritten);
    }
    base.apply_changes(rebuilt)
        .map_err(|e| ReauthorError::Apply(e.to_string()))?;
    base.set_actor(new.clone());
    Ok(Some(Reauthored {
        doc: base,
        changes: hashes.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc, ROOT};

    fn actor(b: u8) -> ActorId {
        ActorId::from(&[b; 16][..])
    }

    /// A document synced up to a point, then edited offline by `old`: a
    /// text spliced around emoji, a map entry made and changed, a list.
    fn offline_edits() -> (AutoCommit, Vec<ChangeHash>) {
        let mut doc = AutoCommit::new().with_actor(actor(1));
        let text = doc.put_object(ROOT, "summary", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, "走访𠮷户").unwrap();
        doc.put(ROOT, "kind", "diary").unwrap();
        doc.commit();
        // Someone else's change the server sent, before the offline edits.
        let mut other = doc.fork().with_actor(actor(2));
        other.put(ROOT, "stayed", true).unwrap();
        other.commit();
        doc.merge(&mut other).unwrap();
        let shared_after = doc.get_heads();
        doc.splice_text(&text, 2, 0, "了😀").unwrap();
        let entries = doc.put_object(ROOT, "entries", ObjType::Map).unwrap();
        let e = doc.put_object(&entries, "e1", ObjType::Map).unwrap();
        doc.put(&e, "households", 3).unwrap();
        doc.commit();
        doc.put(&e, "households", 4).unwrap();
        doc.splice_text(&text, 0, 1, "").unwrap();
        let list = doc.put_object(&e, "photos", ObjType::List).unwrap();
        doc.insert(&list, 0, "a").unwrap();
        doc.insert(&list, 1, "b").unwrap();
        doc.commit();
        (doc, shared_after)
    }

    #[test]
    fn unsynced_changes_move_to_the_new_actor_with_the_same_content() {
        let (mut doc, shared) = offline_edits();
        let before = doc.hydrate(ROOT, None).unwrap();
        let synced: Vec<ChangeHash> = doc
            .get_changes(&[])
            .iter()
            .filter(|c| {
                !doc.get_changes(&shared)
                    .iter()
                    .any(|l| l.hash() == c.hash())
            })
            .map(|c| c.hash())
            .collect();
        let out = reauthor(&mut doc, &shared, &actor(1), &actor(9))
            .unwrap()
            .expect("there are unsynced changes");
        let mut moved = out.doc;
        assert_eq!(out.changes, 2);
        assert_eq!(
            moved.hydrate(ROOT, None).unwrap(),
            before,
            "the content is unchanged"
        );
        let changes = moved.get_changes(&[]);
        // What the server has is untouched, hashes and all.
        for h in &synced {
            assert!(changes.iter().any(|c| c.hash() == *h), "{h} kept");
        }
        // Nothing after the shared heads is by the old actor any more; the
        // new actor's sequence starts at 1 and goes on for new edits.
        let after: Vec<_> = moved.get_changes(&shared);
        assert!(after.iter().all(|c| c.actor_id() == &actor(9)));
        assert_eq!(after.iter().map(|c| c.seq()).collect::<Vec<_>>(), [1, 2]);
        let text = match moved.get(ROOT, "summary").unwrap() {
            Some((_, id)) => id,
            None => panic!("summary"),
        };
        moved.splice_text(&text, 0, 0, "新").unwrap();
        moved.commit();
        let last = moved.get_changes(&shared);
        assert_eq!(
            last.last().map(|c| (c.seq(), c.actor_id().clone())),
            Some((3, actor(9)))
        );
        assert_eq!(moved.text(&text).unwrap(), "新访了😀𠮷户");

        // A server holding only the synced part takes the moved changes.
        let mut server = doc.fork_at(&shared).unwrap();
        server.apply_changes(after).unwrap();
        assert_eq!(server.hydrate(ROOT, None).unwrap(), before);
    }

    #[test]
    fn nothing_unsynced_is_nothing_to_do() {
        let (mut doc, _) = offline_edits();
        let heads = doc.get_heads();
        assert!(reauthor(&mut doc, &heads, &actor(1), &actor(9))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_document_never_synced_moves_whole_but_its_genesis() {
        let mut doc = AutoCommit::new().with_actor(actor(7));
        doc.put(ROOT, "kind", "diary").unwrap();
        doc.commit();
        doc.set_actor(actor(1));
        let entries = doc.put_object(ROOT, "entries", ObjType::Map).unwrap();
        doc.put(&entries, "e1", "走访").unwrap();
        doc.commit();
        let before = doc.hydrate(ROOT, None).unwrap();
        let out = reauthor(&mut doc, &[], &actor(1), &actor(9))
            .unwrap()
            .unwrap();
        let mut moved = out.doc;
        assert_eq!(moved.hydrate(ROOT, None).unwrap(), before);
        let actors: Vec<_> = moved
            .get_changes(&[])
            .iter()
            .map(|c| c.actor_id().clone())
            .collect();
        assert_eq!(actors, [actor(7), actor(9)]);
    }

    #[test]
    fn another_actors_change_on_top_of_an_unsynced_one_is_refused() {
        // The shared heads say the server has none of actor 1's changes,
        // yet actor 2 built on one: rewriting would change actor 2's change.
        let (mut doc, _) = offline_edits();
        assert!(matches!(
            reauthor(&mut doc, &[], &actor(1), &actor(9)),
            Err(ReauthorError::Entangled(_))
        ));
    }
}

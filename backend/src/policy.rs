//! Write authorization for every incoming change.
//!
//! The incoming sync message is applied to a copy of the document; this
//! policy then inspects the result: every new change must come from an
//! Automerge actor registered to the caller's device (or be the document's
//! own genesis change), and every operation of those changes — resolved to
//! its path in the merged document, whether or not it is visible there —
//! must land where the caller may write: the owner writes the content of their own record; anyone in scope
//! writes only comments whose `author` is themselves; nobody rewrites `kind`,
//! `schema`, `owner`, `date` or `month`, removes an item or a container.
//! A refusal is for the whole document: nothing of it is stored.

use std::collections::HashSet;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{Prop, ReadDoc};
use sync_core::document::{genesis_hash, Record, GENESIS_ACTOR, IMMUTABLE_ROOT_KEYS};
use sync_core::session::{Refusal, WritePolicy};
use sync_core::{Document, Role};

/// Containers whose items may only be marked deleted, never removed.
const CONTAINERS: &[&str] = &["entries", "activities", "tasks", "comments", "summary"];

pub struct DevicePolicy {
    pub user_id: String,
    pub role: Role,
    /// Actors registered to the calling device (hex).
    pub actors: HashSet<String>,
}

fn forbidden(message: impl Into<String>) -> Refusal {
    Refusal {
        code: "forbidden_change".to_owned(),
        message: message.into(),
    }
}

fn prop_str(p: &Prop) -> String {
    match p {
        Prop::Map(k) => k.clone(),
        Prop::Seq(i) => i.to_string(),
    }
}

impl DevicePolicy {
    fn check_path(
        &self,
        owner: bool,
        record: &Record,
        before: &Record,
        path: &[String],
        delete: bool,
    ) -> Result<(), Refusal> {
        let Some(top) = path.first() else {
            return Err(forbidden("a change to the document root itself"));
        };
        if IMMUTABLE_ROOT_KEYS.contains(&top.as_str()) {
            return Err(forbidden(format!(
                "`{top}` is fixed at creation and cannot be rewritten"
            )));
        }
        if delete && path.len() <= 2 && CONTAINERS.contains(&top.as_str()) {
            return Err(forbidden(format!(
                "`{}` cannot be removed; mark it deleted instead",
                path.join("/")
            )));
        }
        if top == "comments" {
            let Some(id) = path.get(1) else {
                return Err(forbidden("the comments map cannot be replaced"));
            };
            let mine = |r: &Record| {
                r.comments()
                    .iter()
                    .find(|c| &c.id == id)
                    .map(|c| c.author == self.user_id && c.role == self.role.as_str())
            };
            // The comment must be the caller's now, and must not have been
            // someone else's before.
            if mine(record) != Some(true) || mine(before) == Some(false) {
                return Err(forbidden(format!(
                    "comment {id} is not written by {}",
                    self.user_id
                )));
            }
            return Ok(());
        }
        if !owner {
            return Err(forbidden(format!(
                "only the owner writes `{}`; others may only add their own comments",
                path.join("/")
            )));
        }
        if delete && path.len() == 1 && top != "overnight_place" {
            return Err(forbidden(format!("`{top}` cannot be removed")));
        }
        Ok(())
    }
}

/// The path of an Automerge object: its keys from the root.
fn object_path(doc: &automerge::AutoCommit, obj: &ObjectId) -> Option<Vec<String>> {
    match obj {
        ObjectId::Root => Some(Vec::new()),
        ObjectId::Id(OpId(counter, actor)) => {
            let id = doc
                .import_obj(&format!("{counter}@{}", actor.to_hex_string()))
                .ok()?;
            let parents = doc.parents(&id).ok()?;
            Some(parents.path().iter().map(|(_, p)| prop_str(p)).collect())
        }
    }
}

impl WritePolicy for DevicePolicy {
    fn check(&self, before: &mut Document, after: &mut Document) -> Result<(), Refusal> {
        let id = after.id().clone();
        let genesis = genesis_hash(&id);
        let before_heads = before.heads();
        let genesis_actor = hex::encode(GENESIS_ACTOR);
        if after.automerge_mut().get_change_by_hash(&genesis).is_none() {
            return Err(forbidden(
                "the document does not start from its genesis change",
            ));
        }
        let owner = id.owner().as_str() == self.user_id;
        let record = after.read();
        let before_record = before.read();
        let changes = after.automerge_mut().get_changes(&before_heads);
        let mut paths: std::collections::HashMap<String, Option<Vec<String>>> = Default::default();
        for change in changes {
            let actor = change.actor_id().to_hex_string();
            if actor == genesis_actor {
                if change.hash() != genesis {
                    return Err(forbidden(
                        "a change claims the genesis actor but is not this document's genesis",
                    ));
                }
                continue;
            }
            if !self.actors.contains(&actor) {
                return Err(forbidden(format!(
                    "change by actor {actor}, which is not registered to this device"
                )));
            }
            // Every operation, visible in the merged result or not (a write
            // that loses a conflict today could surface tomorrow), must land
            // on a path the caller may write.
            for op in change.decode().operations {
                // Every character typed is one operation on the same text
                // object: resolve each object's path once.
                let key = match &op.obj {
                    ObjectId::Root => String::new(),
                    ObjectId::Id(OpId(counter, actor)) => {
                        format!("{counter}@{}", actor.to_hex_string())
                    }
                };
                let known = match paths.get(&key) {
                    Some(p) => p.clone(),
                    None => {
                        let p = object_path(after.automerge(), &op.obj);
                        paths.insert(key, p.clone());
                        p
                    }
                };
                let Some(mut path) = known else {
                    return Err(forbidden("an operation on an object outside this document"));
                };
                if let Key::Map(key) = &op.key {
                    path.push(key.to_string());
                }
                let delete = matches!(op.action, OpType::Delete);
                self.check_path(owner, &record, &before_record, &path, delete)?;
            }
        }
        Ok(())
    }
}

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

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use automerge::legacy::{ObjectId, OpId};
use automerge::{ActorId, ChangeHash, Prop, ReadDoc};
use sync_core::document::{genesis_hash, Record, GENESIS_ACTOR, IMMUTABLE_ROOT_KEYS};
use sync_core::session::{Refusal, WritePolicy};
use sync_core::{DocId, Document, Role};

/// Containers whose items may only be marked deleted, never removed.
const CONTAINERS: &[&str] = &["entries", "activities", "tasks", "comments", "summary"];

pub struct DevicePolicy {
    user_id: String,
    role: Role,
    /// Actors registered to the calling device (hex).
    actors: HashSet<String>,
    /// What the checks of this request read, by document: the commit needs
    /// the same record and change list, and each costs a walk of the
    /// document (see [`DevicePolicy::take_checked`]).
    checked: Mutex<HashMap<DocId, Checked>>,
}

/// What a passed check read of the merged document.
#[derive(Debug)]
pub struct Checked {
    /// Its heads when checked: the rest is valid only for that version.
    pub heads: Vec<ChangeHash>,
    pub record: Record,
    /// (hash, actor), hex, of the changes new since the stored version.
    pub changes: Vec<(String, String)>,
}

impl DevicePolicy {
    pub fn new(user_id: String, role: Role, actors: HashSet<String>) -> Self {
        Self {
            user_id,
            role,
            actors,
            checked: Mutex::new(HashMap::new()),
        }
    }

    /// The record and new changes the last passed check of `doc` read, if
    /// the document is still at `heads`.
    pub fn take_checked(&self, doc: &DocId, heads: &[ChangeHash]) -> Option<Checked> {
        let checked = self
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(doc)?;
        (checked.heads == heads).then_some(checked)
    }
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

/// The deepest object the schema has: `entries/{id}/photos/{hash}/location`
/// is five keys from the root. Deeper nesting is refused, and finding an
/// object's path stops here, so a document nested thousands deep costs no
/// more to refuse than one of normal shape.
pub const MAX_PATH_DEPTH: usize = 8;
/// The most operations one document may gain in one request: a busy day is
/// a few thousand (every character typed is one).
pub const MAX_NEW_OPS: usize = 100_000;

/// The path of an Automerge object: its keys from the root.
fn object_path(doc: &automerge::AutoCommit, obj: &ObjectId) -> Result<Vec<String>, Refusal> {
    match obj {
        ObjectId::Root => Ok(Vec::new()),
        ObjectId::Id(OpId(counter, actor)) => {
            let outside = || forbidden("an operation on an object outside this document");
            let id = doc
                .import_obj(&format!("{counter}@{}", actor.to_hex_string()))
                .map_err(|_| outside())?;
            let parents = doc.parents(&id).map_err(|_| outside())?;
            let mut path: Vec<String> = parents
                .take(MAX_PATH_DEPTH + 1)
                .map(|p| prop_str(&p.prop))
                .collect();
            if path.len() > MAX_PATH_DEPTH {
                return Err(forbidden(format!(
                    "objects nested deeper than {MAX_PATH_DEPTH} levels"
                )));
            }
            path.reverse();
            Ok(path)
        }
    }
}

/// The path of `obj`, walking up through the objects the new operations
/// made (`made`: a new document's are all there) and asking Automerge
/// ([`object_path`]) only for the first object on the way up that they did
/// not make. Refused deeper than [`MAX_PATH_DEPTH`], like `object_path`;
/// the walk takes at most that many steps whatever `made` holds.
fn path_of(
    doc: &automerge::AutoCommit,
    made: &HashMap<ObjectId, (ObjectId, String)>,
    obj: &ObjectId,
) -> Result<Vec<String>, Refusal> {
    let too_deep = || {
        forbidden(format!(
            "objects nested deeper than {MAX_PATH_DEPTH} levels"
        ))
    };
    let mut up = Vec::new();
    let mut at = obj;
    let mut path = loop {
        match made.get(at) {
            Some((parent, key)) => {
                if up.len() == MAX_PATH_DEPTH {
                    return Err(too_deep());
                }
                up.push(key.clone());
                at = parent;
            }
            None => break object_path(doc, at)?,
        }
    };
    path.extend(up.into_iter().rev());
    if path.len() > MAX_PATH_DEPTH {
        return Err(too_deep());
    }
    Ok(path)
}

/// Text and counts within what the app can write (`sync_core::validate`).
fn check_limits(record: &Record) -> Result<(), Refusal> {
    use sync_core::validate::{MAX_ITEMS_PER_DOC, MAX_PHOTOS_PER_ITEM, MAX_TEXT_CHARS};
    let too_long = |what: &str, s: &str| {
        (s.chars().count() > MAX_TEXT_CHARS)
            .then(|| forbidden(format!("{what} is longer than {MAX_TEXT_CHARS} characters")))
    };
    let mut texts: Vec<(&str, &str)> = Vec::new();
    let (items, photos) = match record {
        Record::Diary(d) => {
            texts.push(("the summary", &d.summary));
            for e in &d.entries {
                texts.extend([("an entry's text", e.text.as_str()), ("a place", &e.place)]);
            }
            (
                d.entries.len(),
                d.entries.iter().map(|e| e.photos.len()).max(),
            )
        }
        Record::Night(n) => {
            for a in &n.activities {
                texts.extend([
                    ("the issues", a.issues.as_str()),
                    ("the help", &a.help),
                    ("a place", &a.place),
                ]);
            }
            (
                n.activities.len(),
                n.activities.iter().map(|a| a.photos.len()).max(),
            )
        }
        Record::Plan(p) => {
            texts.push(("the summary", &p.summary));
            for t in &p.tasks {
                texts.extend([("a title", t.title.as_str()), ("a note", &t.note)]);
            }
            (p.tasks.len(), None)
        }
    };
    for c in record.comments() {
        texts.push(("a comment", &c.text));
    }
    if let Some(r) = texts.iter().find_map(|(what, s)| too_long(what, s)) {
        return Err(r);
    }
    if items > MAX_ITEMS_PER_DOC || record.comments().len() > MAX_ITEMS_PER_DOC {
        return Err(forbidden(format!(
            "more than {MAX_ITEMS_PER_DOC} items in one document"
        )));
    }
    if photos.unwrap_or(0) > MAX_PHOTOS_PER_ITEM {
        return Err(forbidden(format!(
            "more than {MAX_PHOTOS_PER_ITEM} photos on one item"
        )));
    }
    Ok(())
}

impl WritePolicy for DevicePolicy {
    fn check(
        &self,
        before: &mut Document,
        after: &mut Document,
        arrived_whole: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        let id = after.id().clone();
        let genesis = genesis_hash(&id);
        let before_heads = before.heads();
        let genesis_actor = ActorId::from(&GENESIS_ACTOR[..]);
        if after
            .automerge_mut()
            .get_change_meta_by_hash(&genesis)
            .is_none()
        {
            return Err(forbidden(
                "the document does not start from its genesis change",
            ));
        }
        let owner = id.owner().as_str() == self.user_id;
        let mut new = after
            .new_ops(&before_heads, arrived_whole)
            .map_err(|e| Refusal {
                code: "bad_message".to_owned(),
                message: e.to_string(),
            })?;
        if new.op_count > MAX_NEW_OPS {
            return Err(forbidden(format!(
                "{} operations in one request; at most {MAX_NEW_OPS}",
                new.op_count
            )));
        }
        let mut logged = Vec::with_capacity(new.changes.len());
        for change in &new.changes {
            let actor = change.actor.to_hex_string();
            if change.actor == genesis_actor {
                if change.hash != genesis {
                    return Err(forbidden(
                        "a change claims the genesis actor but is not this document's genesis",
                    ));
                }
            } else if !self.actors.contains(&actor) {
                return Err(forbidden(format!(
                    "change by actor {actor}, which is not registered to this device"
                )));
            }
            logged.push((change.hash.to_string(), actor));
        }
        let record = new.record.take().unwrap_or_else(|| after.read());
        let before_record = before.read();
        check_limits(&record)?;
        // Every operation, visible in the merged result or not (a write that
        // loses a conflict today could surface tomorrow), must land on a
        // path the caller may write. An operation's verdict depends only on
        // its object, its map key and whether it deletes (the rest is fixed
        // for this document), and `new_ops` lists each such target once.
        let mut paths: HashMap<ObjectId, Vec<String>> = HashMap::new();
        for target in new.targets {
            // The genesis change, the only one by its actor (checked
            // above), writes the skeleton.
            if target.actor == genesis_actor {
                continue;
            }
            let mut path = match paths.get(&target.obj) {
                Some(p) => p.clone(),
                None => {
                    let p = path_of(after.automerge(), &new.made, &target.obj)?;
                    paths.insert(target.obj.clone(), p.clone());
                    p
                }
            };
            path.extend(target.key);
            self.check_path(owner, &record, &before_record, &path, target.delete)?;
        }
        let checked = Checked {
            heads: after.heads(),
            record,
            changes: logged,
        };
        self.checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, checked);
        Ok(())
    }
}

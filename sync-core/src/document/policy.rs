//! Write authorization for every incoming change, in terms of the schema.
//!
//! The incoming sync message is applied to a copy of the document; this
//! policy then inspects what it added. Every new change must come from an
//! Automerge actor registered to the writing device (or be the document's
//! own genesis change). Every operation of those changes — resolved to its
//! path in the merged document, whether or not it is visible there — must
//! do what the schema allows at that path ([`super::schema`]): the right
//! type and range, nothing removed but optional values, no object made
//! over an existing one, no key the schema does not know; and land where
//! the writer's role may write: the owner writes the content of their own
//! record, anyone in scope writes only comments whose `author` is
//! themselves. The merged texts, item counts and the document's size are
//! then held to their limits, and the document's day to the calendar. A
//! refusal is for the whole document: nothing of it is stored.
//!
//! The phone's typed edits only ever produce what this accepts
//! (`sync-core/tests/it/policy.rs` property-tests it; the same test holds
//! a list of hostile mutations to a refusal each).

use std::collections::{HashMap, HashSet};

use automerge::legacy::{ObjectId, OpId};
use automerge::{ActorId, ChangeHash, Prop, ReadDoc};
use chrono::NaiveDate;

use super::item::{check_verdict, may_take_on, Item, StepAction};
use super::new_ops::OpAction;
use super::schema::{self, At, Place, SchemaError, Shape, Write};
use super::{genesis_hash, Document, Record, GENESIS_ACTOR};
use crate::ids::Role;
use crate::session::{Refusal, WritePolicy};
use crate::validate::{self, MAX_DOC_OPS, MAX_ITEMS_PER_DOC, MAX_PHOTOS_PER_ITEM};

/// The deepest object the schema has: `entries/{id}/photos/{hash}/location`
/// is five keys from the root. Deeper nesting is refused, and finding an
/// object's path stops here, so a document nested thousands deep costs no
/// more to refuse than one of normal shape.
pub const MAX_PATH_DEPTH: usize = 8;
/// The most operations one document may gain in one request (also bounded
/// before Automerge applies them: `admit.rs`).
pub const MAX_NEW_OPS: usize = super::admit::MAX_MESSAGE_OPS;

/// The refusal codes of the policy (`docs/sync-protocol.md`).
pub mod code {
    /// An operation outside the schema or the writer's rights.
    pub const FORBIDDEN: &str = "forbidden_change";
    /// The document would pass a size limit.
    pub const DOCUMENT_FULL: &str = "document_full";
    /// A day after tomorrow, or a plan beyond next month.
    pub const BAD_DATE: &str = "bad_date";
    /// Automerge failed on the document.
    pub const BAD_MESSAGE: &str = "bad_message";
}

fn refusal(code: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        code: code.to_owned(),
        message: message.into(),
    }
}

fn forbidden(message: impl Into<String>) -> Refusal {
    refusal(code::FORBIDDEN, message)
}

/// Who writes: the user, their role, the actors of their device, and the
/// day it is where the county is.
#[derive(Debug, Clone)]
pub struct Writer {
    pub user: String,
    pub role: Role,
    /// Actors registered to the writing device (hex).
    pub actors: HashSet<String>,
    /// Today's local date (the server's clock): days after tomorrow and
    /// plans beyond next month are refused.
    pub today: NaiveDate,
    /// The server filing a case the public brought (a complaint or a
    /// request): the only writer who may open an item of those lists, so
    /// that none is made up on a phone without a filer behind it.
    pub opens_cases: bool,
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

fn prop_str(p: &Prop) -> String {
    match p {
        Prop::Map(k) => k.clone(),
        Prop::Seq(i) => i.to_string(),
    }
}

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
                return Err(too_deep());
            }
            path.reverse();
            Ok(path)
        }
    }
}

fn too_deep() -> Refusal {
    forbidden(format!(
        "objects nested deeper than {MAX_PATH_DEPTH} levels"
    ))
}

/// The path of `obj`, walking up through the objects the new operations
/// made (`made`: a new document's are all there) and asking Automerge
/// ([`object_path`]) only for the first object on the way up that they did
/// not make. Refused deeper than [`MAX_PATH_DEPTH`]; the walk takes at most
/// that many steps whatever `made` holds.
fn path_of(
    doc: &automerge::AutoCommit,
    made: &HashMap<ObjectId, (ObjectId, String)>,
    obj: &ObjectId,
) -> Result<Vec<String>, Refusal> {
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

/// Does `doc` hold a value at `key` of `obj`? (An object the document does
/// not have holds nothing.)
fn holds(doc: &automerge::AutoCommit, obj: &ObjectId, key: &str) -> bool {
    let id = match obj {
        ObjectId::Root => automerge::ROOT,
        ObjectId::Id(OpId(counter, actor)) => {
            match doc.import_obj(&format!("{counter}@{}", actor.to_hex_string())) {
                Ok(id) => id,
                Err(_) => return false,
            }
        }
    };
    doc.get_all(&id, key).is_ok_and(|values| !values.is_empty())
}

/// The merged texts and counts within the schema's limits.
pub fn check_record(record: &Record) -> Result<(), Refusal> {
    use crate::validate::{MAX_SHORT_CHARS, MAX_TEXT_CHARS};
    let mut texts: Vec<(&str, &str, usize)> = Vec::new();
    let (items, photos) = match record {
        Record::Diary(d) => {
            texts.push(("the summary", &d.summary, MAX_TEXT_CHARS));
            for e in &d.entries {
                texts.push(("an entry's text", &e.text, MAX_TEXT_CHARS));
            }
            (
                d.entries.len(),
                d.entries.iter().map(|e| e.photos.len()).max(),
            )
        }
        Record::Night(n) => {
            for a in &n.activities {
                texts.extend([
                    ("the issues", a.issues.as_str(), MAX_TEXT_CHARS),
                    ("the help", &a.help, MAX_TEXT_CHARS),
                ]);
            }
            (
                n.activities.len(),
                n.activities.iter().map(|a| a.photos.len()).max(),
            )
        }
        Record::Plan(p) => {
            texts.push(("the summary", &p.summary, MAX_TEXT_CHARS));
            for t in &p.tasks {
                texts.extend([
                    ("a title", t.title.as_str(), MAX_SHORT_CHARS),
                    ("a note", &t.note, MAX_TEXT_CHARS),
                ]);
            }
            (p.tasks.len(), None)
        }
        Record::Item(i) => {
            if let Some(b) = &i.brief {
                texts.extend([
                    ("the title", b.title.as_str(), MAX_SHORT_CHARS),
                    ("the content", &b.content, MAX_TEXT_CHARS),
                    ("the measures", &b.measures, MAX_TEXT_CHARS),
                ]);
            }
            for s in &i.steps {
                texts.push(("a step's text", &s.text, MAX_TEXT_CHARS));
            }
            (i.steps.len(), i.steps.iter().map(|s| s.photos.len()).max())
        }
    };
    for c in record.comments() {
        texts.push(("a comment", &c.text, MAX_TEXT_CHARS));
    }
    for (what, text, max) in texts {
        validate::text(what, text, max).map_err(|e| forbidden(e.to_string()))?;
    }
    if items > MAX_ITEMS_PER_DOC || record.comments().len() > MAX_ITEMS_PER_DOC {
        return Err(refusal(
            code::DOCUMENT_FULL,
            format!("more than {MAX_ITEMS_PER_DOC} items in one document"),
        ));
    }
    if photos.unwrap_or(0) > MAX_PHOTOS_PER_ITEM {
        return Err(refusal(
            code::DOCUMENT_FULL,
            format!("more than {MAX_PHOTOS_PER_ITEM} photos on one item"),
        ));
    }
    Ok(())
}

impl Writer {
    /// May this writer turn `before` into `after`? `arrived_whole`: the
    /// bytes `after` was loaded from when `before` was empty
    /// ([`Document::new_ops`]). What the check read comes back for the
    /// commit.
    pub fn check_write(
        &self,
        before: &mut Document,
        after: &mut Document,
        arrived_whole: Option<&[u8]>,
    ) -> Result<Checked, Refusal> {
        let id = after.id().clone();
        let kind = id.kind();
        validate::period_open(&id, self.today)
            .map_err(|e| refusal(code::BAD_DATE, e.to_string()))?;
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
        let total_ops = usize::try_from(after.automerge().stats().num_ops).unwrap_or(usize::MAX);
        if total_ops > MAX_DOC_OPS {
            return Err(refusal(
                code::DOCUMENT_FULL,
                format!("the document would hold {total_ops} operations; at most {MAX_DOC_OPS}"),
            ));
        }
        let owner = id.owner().is_some_and(|o| o.as_str() == self.user);
        let mut new = after
            .new_ops(&before_heads, arrived_whole)
            .map_err(|e| refusal(code::BAD_MESSAGE, e.to_string()))?;
        if new.op_count > MAX_NEW_OPS {
            return Err(refusal(
                code::DOCUMENT_FULL,
                format!(
                    "{} operations in one request; at most {MAX_NEW_OPS}",
                    new.op_count
                ),
            ));
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
        check_record(&record)?;

        let new_document = before_heads.is_empty();
        // Each object's path and place, found once: its operations' verdicts
        // follow from them and the key.
        let mut objects: HashMap<ObjectId, ObjectPlace, Quick> = HashMap::default();
        // Objects made more than once at one key: the second hides the
        // first (an item, a text, a container emptied by a new one).
        let mut makes: HashMap<(&ObjectId, &str), usize, Quick> = HashMap::default();
        for (parent, key) in new.made.values() {
            *makes.entry((parent, key.as_str())).or_default() += 1;
        }
        // The fields written on each object by this request.
        let mut written: HashMap<&ObjectId, HashSet<&str, Quick>, Quick> = HashMap::default();
        // Every operation, visible in the merged result or not (a write that
        // loses a conflict today could surface tomorrow), must do what the
        // schema allows where the writer may write. An operation's verdict
        // depends only on its object, its key and its action (the rest is
        // fixed for this document), and `new_ops` lists each such target
        // once.
        for target in &new.targets {
            // The genesis change, the only one by its actor (checked
            // above), writes the skeleton.
            if target.actor == genesis_actor {
                continue;
            }
            let object = place_of(
                &mut objects,
                after.automerge(),
                &new.made,
                kind,
                &target.obj,
            )?;
            let at = At::new(&object.path, target.key.as_deref());
            let object_place = object
                .place
                .as_ref()
                .map_err(|e| forbidden(e.to_string()))?;
            let Some(key) = &target.key else {
                schema::check_element_action(at, object_place, &target.action)
                    .map_err(|e| forbidden(e.to_string()))?;
                self.check_writer(owner, new_document, &record, &before_record, at)?;
                continue;
            };
            if object.path.len() >= MAX_PATH_DEPTH {
                return Err(too_deep());
            }
            let place = schema::step(object_place, at).map_err(|e| forbidden(e.to_string()))?;
            // Setting the value that won a conflict again is written by
            // Automerge as a deletion of the losing values: the key keeps
            // a value, so nothing is erased (a deletion that empties the
            // key is judged by the schema).
            let resolves_conflict = target.action == OpAction::Delete
                && place.write != Write::Genesis
                && holds(after.automerge(), &target.obj, key);
            if !resolves_conflict {
                schema::check_key_action(at, &place, &target.action)
                    .map_err(|e| forbidden(e.to_string()))?;
            }
            self.check_writer(owner, new_document, &record, &before_record, at)?;
            if let OpAction::Make(_) = target.action {
                let stood = !new_document && holds(before.automerge(), &target.obj, key);
                check_made_once(stood, &target.obj, key, at, &place, &makes)?;
            }
            if matches!(target.action, OpAction::Set(_) | OpAction::Make(_)) {
                written.entry(&target.obj).or_default().insert(key);
            }
        }
        // Items made by this request are made with all of their fields.
        for (made, (parent, key)) in &new.made {
            let object = place_of(&mut objects, after.automerge(), &new.made, kind, parent)?;
            let at = At::new(&object.path, Some(key));
            let Ok(parent_place) = &object.place else {
                continue;
            };
            if let Ok(Place {
                required: Some(required),
                ..
            }) = schema::step(parent_place, at)
            {
                let fields = written.get(made);
                if let Some(missing) = required
                    .iter()
                    .find(|k| !fields.is_some_and(|f| f.contains(**k)))
                {
                    return Err(forbidden(format!("`{at}` is made without its `{missing}`")));
                }
            }
        }
        Ok(Checked {
            heads: after.heads(),
            record,
            changes: logged,
        })
    }

    /// The writer's rights at `at`: the owner writes the content of their
    /// record; anyone else only their own comments. On an item, the rights
    /// of [`Writer::check_item_writer`].
    fn check_writer(
        &self,
        owner: bool,
        new_document: bool,
        record: &Record,
        before: &Record,
        at: At<'_>,
    ) -> Result<(), Refusal> {
        let (Some(top), second) = at.top() else {
            return Err(forbidden("a change to the document root itself"));
        };
        if top == "comments" {
            let Some(id) = second else {
                return Err(forbidden("the comments map cannot be replaced"));
            };
            let role = self.role.as_str();
            let mine = |r: &Record| {
                r.comments()
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.author == self.user && c.role == role)
            };
            // The comment must be the writer's now (author and role are the
            // writer's), and must not have been someone else's before.
            if mine(record) != Some(true) || mine(before) == Some(false) {
                return Err(forbidden(format!(
                    "comment {id} is not written by {} as {role}",
                    self.user
                )));
            }
            return Ok(());
        }
        if let (Record::Item(item), Record::Item(before)) = (record, before) {
            return self.check_item_writer(new_document, item, before, top, second, at);
        }
        if !owner {
            return Err(forbidden(format!(
                "only the owner writes `{at}`; others may only add their own comments"
            )));
        }
        Ok(())
    }

    /// On an item: the brief only in the change that opens the item, by
    /// the issuer it names (not a cadre, not to themselves); a step only
    /// when it is new, whole and the writer's own (`by`, `role`), of an
    /// action the writer's part allows ([`may_take`]). Nothing else.
    fn check_item_writer(
        &self,
        new_document: bool,
        item: &Item,
        before: &Item,
        top: &str,
        second: Option<&str>,
        at: At<'_>,
    ) -> Result<(), Refusal> {
        match top {
            "brief" => {
                let issued = item.brief.as_ref().filter(|b| {
                    b.issuer == self.user
                        && b.issuer_role == self.role.as_str()
                        && b.responsible != b.issuer
                        && !b
                            .collaborators
                            .iter()
                            .any(|c| *c == b.issuer || *c == b.responsible)
                });
                if !new_document || before.brief.is_some() {
                    return Err(forbidden(format!(
                        "`{at}`: an item's brief is written once, when it is issued"
                    )));
                }
                if item.brief.as_ref().is_some_and(|b| b.list.is_case()) && !self.opens_cases {
                    return Err(forbidden(format!(
                        "`{at}`: a complaint or a request is filed by the public through the \
                         server, not opened from a device"
                    )));
                }
                if issued.is_none() || self.role == Role::Cadre {
                    return Err(forbidden(format!(
                        "`{at}`: the brief must be whole and name the writer, not a cadre, \
                         as its issuer, and someone else as responsible"
                    )));
                }
                Ok(())
            }
            "steps" => {
                let Some(id) = second else {
                    return Err(forbidden("the steps map cannot be replaced"));
                };
                if before.steps.iter().any(|s| s.id == id) {
                    return Err(forbidden(format!(
                        "step {id} stands already; a step is never changed"
                    )));
                }
                let Some(step) = item.steps.iter().find(|s| s.id == id) else {
                    return Err(forbidden(format!(
                        "step {id} is not whole (its action, author and time)"
                    )));
                };
                // A step is dated from the item's issue to the end of
                // tomorrow (the server's day, as for records): a date far
                // ahead would order every later step after it.
                let issued = item.brief.as_ref().map_or(0, |b| b.issued_at);
                let latest = self
                    .today
                    .checked_add_days(chrono::Days::new(2))
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map_or(i64::MAX, crate::china::ms_of);
                if step.at < issued || step.at >= latest {
                    return Err(refusal(
                        code::BAD_DATE,
                        format!("step {id} is dated outside the item's issue to tomorrow"),
                    ));
                }
                if step.by != self.user || step.role != self.role.as_str() {
                    return Err(forbidden(format!(
                        "step {id} is not written by {} as {}",
                        self.user,
                        self.role.as_str()
                    )));
                }
                if item.brief.is_none() {
                    return Err(forbidden("a step on an item that was never issued"));
                }
                if let Some(b) = &item.brief {
                    check_verdict(b.list, step.action, step.verdict)
                        .map_err(|why| forbidden(format!("step {id}: {why}")))?;
                }
                let part = item.part_of(&self.user);
                let list = item.brief.as_ref().map(|b| b.list);
                if !may_take_on(list, step.action, part, self.role) {
                    return Err(forbidden(format!(
                        "{} may not take the step `{}` on this item",
                        self.user,
                        step.action.as_str()
                    )));
                }
                // 销号 and sending back answer a request to close: the
                // answerer's phone saw the request, so it stands here too,
                // dated before the answer (a phone dates a step after every
                // step it holds). A concurrent answer, or a confirmation
                // after a concurrent sending back, still answers one.
                let answers = matches!(step.action, StepAction::Confirm | StepAction::SendBack);
                let asked = before
                    .steps
                    .iter()
                    .any(|s| s.action == StepAction::RequestClose && s.at < step.at);
                if answers && !asked {
                    return Err(forbidden(format!(
                        "step {id} (`{}`) answers a request to close, and none was made before it",
                        step.action.as_str()
                    )));
                }
                // A case's answer and 销号 are what its filer reads and its
                // verdict counts: once closed, nothing answers it again, and
                // a request or an answer is dated after every request and
                // answer before it, so that one dated back cannot come
                // before the standing one (notes do not count: a phone
                // offline has not seen the others').
                if list.is_some_and(|l| l.is_case()) && !matches!(step.action, StepAction::Progress)
                {
                    if before.standing().status.is_closed() {
                        return Err(forbidden(format!(
                            "step {id}: the case is closed; nothing answers it again"
                        )));
                    }
                    let answered_later = before
                        .steps
                        .iter()
                        .any(|s| s.action != StepAction::Progress && s.at >= step.at);
                    if answered_later {
                        return Err(forbidden(format!(
                            "step {id} is dated before an answer or a request it follows"
                        )));
                    }
                }
                Ok(())
            }
            _ => Err(forbidden(format!(
                "`{at}` is not written on an item; add a step or a comment"
            ))),
        }
    }
}

/// An object the schema makes once (an item, a text, a container) may be
/// made only where nothing `stood` before, and only once.
fn check_made_once(
    stood: bool,
    obj: &ObjectId,
    key: &str,
    at: At<'_>,
    place: &Place,
    makes: &HashMap<(&ObjectId, &str), usize, Quick>,
) -> Result<(), Refusal> {
    if place.write != Write::Once {
        return Ok(());
    }
    let twice = makes.get(&(obj, key)).copied().unwrap_or(0) > 1;
    if twice || stood {
        let what = match place.shape {
            Shape::Text { .. } => "a text",
            Shape::Items { .. } => "a container",
            _ => "an item",
        };
        return Err(forbidden(format!(
            "`{at}` already holds {what}; making it again would hide what it holds \
             (edit it, or mark items deleted)"
        )));
    }
    Ok(())
}

/// An object's path from the root, and its place in the schema (or why it
/// has none: refused only if an operation writes in it).
struct ObjectPlace {
    path: Vec<String>,
    place: Result<Place, SchemaError>,
}

/// Hash maps of the checks: foldhash, seeded at random per map (keys come
/// from outside), at a fraction of SipHash's cost.
type Quick = foldhash::fast::RandomState;

/// The path and place of `obj`, found once per check.
fn place_of<'m>(
    objects: &'m mut HashMap<ObjectId, ObjectPlace, Quick>,
    doc: &automerge::AutoCommit,
    made: &HashMap<ObjectId, (ObjectId, String)>,
    kind: crate::ids::DocKind,
    obj: &ObjectId,
) -> Result<&'m ObjectPlace, Refusal> {
    if !objects.contains_key(obj) {
        let path = path_of(doc, made, obj)?;
        let place = schema::resolve(kind, &path);
        objects.insert(obj.clone(), ObjectPlace { path, place });
    }
    Ok(&objects[obj])
}

/// The policy alone, for a server that keeps nothing of what it read (the
/// in-memory server of the tests and the simulation).
impl WritePolicy for Writer {
    fn check(
        &self,
        before: &mut Document,
        after: &mut Document,
        arrived_whole: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        self.check_write(before, after, arrived_whole).map(|_| ())
    }
}

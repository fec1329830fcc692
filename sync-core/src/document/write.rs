//! Turning a typed [`Edit`] into Automerge operations.
//!
//! Every check runs before the first write of an edit where it can; the
//! caller rolls the open transaction back on any error, so a refused edit
//! leaves the document untouched. Items are keyed by id in maps, deletion is
//! a `deleted` mark, and free text is a text object edited by splices.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};

use super::item::{
    check_verdict, may_take_on, ItemBrief, ItemStatus, StepAction, StepFields, MAX_COLLABORATORS,
};
use super::model::*;
use super::read::{bool_at, obj_at, str_at};
use super::SCHEMA;
use crate::error::CoreError;
use crate::ids::{DocId, DocKind, ItemId, UserId};
use crate::validate::{
    self, Location, Rule, ValidationError, MAX_ITEMS_PER_DOC, MAX_PHOTOS_PER_ITEM, MAX_TEXT_CHARS,
};

struct Writer<'a> {
    id: &'a DocId,
    doc: &'a mut AutoCommit,
    ctx: &'a EditContext,
}

pub(super) fn apply(
    id: &DocId,
    doc: &mut AutoCommit,
    edit: &Edit,
    ctx: &EditContext,
) -> Result<(), CoreError> {
    let mut w = Writer { id, doc, ctx };
    w.apply(edit)
}

fn container_of(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Diary => "entries",
        DocKind::Night => "activities",
        DocKind::Plan => "tasks",
        DocKind::Item => "steps",
    }
}

fn item_name(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Diary => "entry",
        DocKind::Night => "activity",
        DocKind::Plan => "task",
        DocKind::Item => "step",
    }
}

impl Writer<'_> {
    fn am(&self, e: AutomergeError) -> CoreError {
        CoreError::corrupt(self.id, e)
    }

    fn need_kind(&self, expected: DocKind) -> Result<(), CoreError> {
        if self.id.kind() != expected {
            return Err(CoreError::WrongKind {
                doc: self.id.clone(),
                expected,
                actual: self.id.kind(),
            });
        }
        Ok(())
    }

    /// A task's due date falls within the plan's month or the year after.
    fn check_due(&self, due: chrono::NaiveDate) -> Result<(), CoreError> {
        let Some(first) = self.id.first_day() else {
            return Ok(());
        };
        if due < first || due > first + chrono::Months::new(12) {
            return Err(ValidationError::new(
                "due",
                "must fall within the plan's month or the year after",
            )
            .broke(Rule::OutOfRange)
            .into());
        }
        Ok(())
    }

    fn need_owner(&self) -> Result<(), CoreError> {
        match self.id.owner() {
            Some(owner) if owner == &self.ctx.user => Ok(()),
            Some(_) => Err(CoreError::Forbidden {
                doc: self.id.clone(),
                reason: "only the owner writes the content of a record".into(),
            }),
            None => Err(CoreError::Forbidden {
                doc: self.id.clone(),
                reason: "an item is written through its steps (AddItemStep)".into(),
            }),
        }
    }

    fn root_map(&self, key: &str) -> Result<ObjId, CoreError> {
        obj_at(self.doc, &ROOT, key, ObjType::Map)
            .ok_or_else(|| CoreError::corrupt(self.id, format!("the `{key}` map is missing")))
    }

    /// An item that exists and is not deleted.
    fn live_item(
        &self,
        container: &str,
        what: &'static str,
        id: &ItemId,
    ) -> Result<ObjId, CoreError> {
        let map = self.root_map(container)?;
        match obj_at(self.doc, &map, id.as_str(), ObjType::Map) {
            Some(item) if !bool_at(self.doc, &item, "deleted") => Ok(item),
            _ => Err(CoreError::NotFound {
                doc: self.id.clone(),
                what,
                id: id.to_string(),
            }),
        }
    }

    /// A new item map in `container`, with the fields every item has.
    fn new_item(
        &mut self,
        container: &str,
        what: &'static str,
        id: &ItemId,
    ) -> Result<ObjId, CoreError> {
        let map = self.root_map(container)?;
        if self
            .doc
            .get(&map, id.as_str())
            .map_err(|e| self.am(e))?
            .is_some()
        {
            return Err(
                ValidationError::new("id", format!("{what} {id} already exists"))
                    .broke(Rule::Exists)
                    .into(),
            );
        }
        if self.doc.length(&map) >= MAX_ITEMS_PER_DOC {
            return Err(CoreError::TooMany {
                doc: self.id.clone(),
                what,
                max: MAX_ITEMS_PER_DOC,
            });
        }
        let now = self.ctx.now_ms;
        let doc = &mut *self.doc;
        let mut put = || -> Result<ObjId, AutomergeError> {
            let item = doc.put_object(&map, id.as_str(), ObjType::Map)?;
            doc.put(&item, "schema", SCHEMA)?;
            doc.put(&item, "created_at", now)?;
            doc.put(&item, "updated_at", now)?;
            doc.put(&item, "deleted", false)?;
            Ok(item)
        };
        put().map_err(|e| CoreError::corrupt(self.id, e))
    }

    fn put(
        &mut self,
        obj: &ObjId,
        key: &str,
        value: impl Into<ScalarValue>,
    ) -> Result<(), CoreError> {
        self.doc
            .put(obj, key, value)
            .map_err(|e| CoreError::corrupt(self.id, e))
    }

    fn delete_key(&mut self, obj: &ObjId, key: &str) -> Result<(), CoreError> {
        if self.doc.get(obj, key).map_err(|e| self.am(e))?.is_some() {
            self.doc
                .delete(obj, key)
                .map_err(|e| CoreError::corrupt(self.id, e))?;
        }
        Ok(())
    }

    fn new_text(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<(), CoreError> {
        let doc = &mut *self.doc;
        let mut put = || -> Result<(), AutomergeError> {
            let t = doc.put_object(obj, key, ObjType::Text)?;
            if !value.is_empty() {
                doc.splice_text(&t, 0, 0, value)?;
            }
            Ok(())
        };
        put().map_err(|e| CoreError::corrupt(self.id, e))
    }

    fn put_location(&mut self, obj: &ObjId, key: &str, loc: &Location) -> Result<(), CoreError> {
        let doc = &mut *self.doc;
        let mut put = || -> Result<(), AutomergeError> {
            let l = doc.put_object(obj, key, ObjType::Map)?;
            doc.put(&l, "lat", loc.lat)?;
            doc.put(&l, "lon", loc.lon)?;
            doc.put(&l, "accuracy_m", loc.accuracy_m)?;
            Ok(())
        };
        put().map_err(|e| CoreError::corrupt(self.id, e))
    }

    fn touch(&mut self, item: &ObjId) -> Result<(), CoreError> {
        let now = self.ctx.now_ms;
        self.put(item, "updated_at", now)
    }

    fn apply(&mut self, edit: &Edit) -> Result<(), CoreError> {
        match edit {
            Edit::AddEntry { id, fields } => {
                self.need_kind(DocKind::Diary)?;
                self.need_owner()?;
                validate::short("place", &fields.place)?;
                validate::text("text", &fields.text, MAX_TEXT_CHARS)?;
                validate::households("households", fields.households)?;
                if let Some(l) = &fields.location {
                    l.validate()?;
                }
                let e = self.new_item("entries", "entry", id)?;
                self.put(&e, "time", fields.time.to_string())?;
                self.put(&e, "category", fields.category.as_str())?;
                self.put(&e, "place", fields.place.as_str())?;
                self.put(&e, "households", u64::from(fields.households))?;
                self.new_text(&e, "text", &fields.text)?;
                if let Some(l) = &fields.location {
                    self.put_location(&e, "location", l)?;
                }
                self.doc
                    .put_object(&e, "photos", ObjType::Map)
                    .map_err(|e| self.am(e))?;
                Ok(())
            }
            Edit::UpdateEntry { id, patch } => {
                self.need_kind(DocKind::Diary)?;
                self.need_owner()?;
                if let Some(p) = &patch.place {
                    validate::short("place", p)?;
                }
                if let Some(h) = patch.households {
                    validate::households("households", h)?;
                }
                if let Some(Some(l)) = &patch.location {
                    l.validate()?;
                }
                let e = self.live_item("entries", "entry", id)?;
                if let Some(t) = patch.time {
                    self.put(&e, "time", t.to_string())?;
                }
                if let Some(c) = patch.category {
                    self.put(&e, "category", c.as_str())?;
                }
                if let Some(p) = &patch.place {
                    self.put(&e, "place", p.as_str())?;
                }
                if let Some(h) = patch.households {
                    self.put(&e, "households", u64::from(h))?;
                }
                match &patch.location {
                    Some(Some(l)) => self.put_location(&e, "location", l)?,
                    Some(None) => self.delete_key(&e, "location")?,
                    None => {}
                }
                self.touch(&e)
            }
            Edit::DeleteEntry { id } => self.mark_deleted(DocKind::Diary, id),
            Edit::AddActivity { id, fields } => {
                self.need_kind(DocKind::Night)?;
                self.need_owner()?;
                validate::short("place", &fields.place)?;
                validate::households("households", fields.households)?;
                validate::text("issues", &fields.issues, MAX_TEXT_CHARS)?;
                validate::text("help", &fields.help, MAX_TEXT_CHARS)?;
                if let Some(end) = fields.end {
                    check_span(fields.start, end)?;
                }
                let a = self.new_item("activities", "activity", id)?;
                self.put(&a, "kind", fields.kind.as_str())?;
                self.put(&a, "start", fields.start.to_string())?;
                if let Some(end) = fields.end {
                    self.put(&a, "end", end.to_string())?;
                }
                self.put(&a, "place", fields.place.as_str())?;
                self.put(&a, "households", u64::from(fields.households))?;
                self.new_text(&a, "issues", &fields.issues)?;
                self.new_text(&a, "help", &fields.help)?;
                self.doc
                    .put_object(&a, "photos", ObjType::Map)
                    .map_err(|e| self.am(e))?;
                Ok(())
            }
            Edit::UpdateActivity { id, patch } => {
                self.need_kind(DocKind::Night)?;
                self.need_owner()?;
                if let Some(p) = &patch.place {
                    validate::short("place", p)?;
                }
                if let Some(h) = patch.households {
                    validate::households("households", h)?;
                }
                let a = self.live_item("activities", "activity", id)?;
                if let Some(k) = patch.kind {
                    self.put(&a, "kind", k.as_str())?;
                }
                if let Some(s) = patch.start {
                    self.put(&a, "start", s.to_string())?;
                }
                match patch.end {
                    Some(Some(e)) => self.put(&a, "end", e.to_string())?,
                    Some(None) => self.delete_key(&a, "end")?,
                    None => {}
                }
                if let Some(p) = &patch.place {
                    self.put(&a, "place", p.as_str())?;
                }
                if let Some(h) = patch.households {
                    self.put(&a, "households", u64::from(h))?;
                }
                self.touch(&a)
            }
            Edit::DeleteActivity { id } => self.mark_deleted(DocKind::Night, id),
            Edit::SetOvernight { stayed, place } => {
                self.need_kind(DocKind::Night)?;
                self.need_owner()?;
                if let Some(p) = place {
                    validate::short("overnight_place", p)?;
                }
                if !stayed && place.is_some() {
                    return Err(ValidationError::new(
                        "overnight_place",
                        "only a night stayed has a place",
                    )
                    .broke(Rule::Inconsistent)
                    .into());
                }
                self.put(&ROOT, "stayed_overnight", *stayed)?;
                match place {
                    Some(p) => self.put(&ROOT, "overnight_place", p.as_str()),
                    None => self.delete_key(&ROOT, "overnight_place"),
                }
            }
            Edit::SetStatus { kind, village } => {
                self.need_kind(DocKind::Diary)?;
                self.need_owner()?;
                match (kind, village) {
                    (StatusKind::InVillage, Some(v)) => validate::short("village", v)?,
                    (StatusKind::InVillage, None) => {
                        return Err(ValidationError::new(
                            "village",
                            "下村 (in_village) names the village",
                        )
                        .broke(Rule::Inconsistent)
                        .into())
                    }
                    (_, Some(_)) => {
                        return Err(ValidationError::new(
                            "village",
                            "only 下村 (in_village) names a village",
                        )
                        .broke(Rule::Inconsistent)
                        .into())
                    }
                    (_, None) => {}
                }
                let at = self.ctx.now_ms;
                let doc = &mut *self.doc;
                let mut put = || -> Result<(), AutomergeError> {
                    let s = doc.put_object(&ROOT, "status", ObjType::Map)?;
                    doc.put(&s, "kind", kind.as_str())?;
                    if let Some(v) = village {
                        doc.put(&s, "village", v.as_str())?;
                    }
                    doc.put(&s, "at", at)?;
                    Ok(())
                };
                put().map_err(|e| CoreError::corrupt(self.id, e))
            }
            Edit::AddTask { id, fields } => {
                self.need_kind(DocKind::Plan)?;
                self.need_owner()?;
                if fields.title.trim().is_empty() {
                    return Err(ValidationError::new("title", "must not be empty")
                        .broke(Rule::Empty)
                        .into());
                }
                validate::short("title", &fields.title)?;
                if let Some(due) = fields.due {
                    self.check_due(due)?;
                }
                let t = self.new_item("tasks", "task", id)?;
                self.new_text(&t, "title", &fields.title)?;
                self.put(&t, "kind", fields.kind.as_str())?;
                if let Some(due) = fields.due {
                    self.put(&t, "due", due.format("%Y-%m-%d").to_string())?;
                }
                self.put(&t, "status", TaskStatus::Open.as_str())?;
                self.new_text(&t, "note", "")
            }
            Edit::CloseTask { id, status, note } => {
                self.need_kind(DocKind::Plan)?;
                self.need_owner()?;
                if *status == TaskStatus::Open {
                    return Err(ValidationError::new(
                        "status",
                        "closing a task sets done or dropped; reopen it with ReopenTask",
                    )
                    .into());
                }
                validate::text("note", note, MAX_TEXT_CHARS)?;
                let t = self.live_item("tasks", "task", id)?;
                self.put(&t, "status", status.as_str())?;
                let now = self.ctx.now_ms;
                self.put(&t, "closed_at", now)?;
                self.set_text_obj(&t, "note", note)?;
                self.touch(&t)
            }
            Edit::ReopenTask { id } => {
                self.need_kind(DocKind::Plan)?;
                self.need_owner()?;
                let t = self.live_item("tasks", "task", id)?;
                self.put(&t, "status", TaskStatus::Open.as_str())?;
                self.delete_key(&t, "closed_at")?;
                self.touch(&t)
            }
            Edit::SetTaskDue { id, due } => {
                self.need_kind(DocKind::Plan)?;
                self.need_owner()?;
                if let Some(due) = due {
                    self.check_due(*due)?;
                }
                let t = self.live_item("tasks", "task", id)?;
                match due {
                    Some(due) => self.put(&t, "due", due.format("%Y-%m-%d").to_string())?,
                    None => self.delete_key(&t, "due")?,
                }
                self.touch(&t)
            }
            Edit::DeleteTask { id } => self.mark_deleted(DocKind::Plan, id),
            Edit::AttachPhoto { item, photo } => {
                self.need_owner()?;
                let kind = self.id.kind();
                if matches!(kind, DocKind::Plan | DocKind::Item) {
                    return Err(CoreError::WrongKind {
                        doc: self.id.clone(),
                        expected: DocKind::Diary,
                        actual: kind,
                    });
                }
                if let Some(l) = &photo.location {
                    l.validate()?;
                }
                let it = self.live_item(container_of(kind), item_name(kind), item)?;
                let photos = match obj_at(self.doc, &it, "photos", ObjType::Map) {
                    Some(p) => p,
                    None => self
                        .doc
                        .put_object(&it, "photos", ObjType::Map)
                        .map_err(|e| self.am(e))?,
                };
                let key = photo.hash.as_str();
                if let Some(existing) = obj_at(self.doc, &photos, key, ObjType::Map) {
                    // Attaching twice is harmless; re-attaching undoes a detach.
                    if bool_at(self.doc, &existing, "removed") {
                        self.put(&existing, "removed", false)?;
                        self.touch(&it)?;
                    }
                    return Ok(());
                }
                if self.doc.length(&photos) >= MAX_PHOTOS_PER_ITEM {
                    return Err(CoreError::TooMany {
                        doc: self.id.clone(),
                        what: "photos",
                        max: MAX_PHOTOS_PER_ITEM,
                    });
                }
                let p = self
                    .doc
                    .put_object(&photos, key, ObjType::Map)
                    .map_err(|e| self.am(e))?;
                let now = self.ctx.now_ms;
                self.put(&p, "added_at", now)?;
                if let Some(c) = photo.captured_at {
                    self.put(&p, "captured_at", c)?;
                }
                if let Some(l) = &photo.location {
                    self.put_location(&p, "location", l)?;
                }
                self.touch(&it)
            }
            Edit::DetachPhoto { item, hash } => {
                self.need_owner()?;
                let kind = self.id.kind();
                let it = self.live_item(container_of(kind), item_name(kind), item)?;
                let photo = obj_at(self.doc, &it, "photos", ObjType::Map)
                    .and_then(|photos| obj_at(self.doc, &photos, hash.as_str(), ObjType::Map))
                    .ok_or_else(|| CoreError::NotFound {
                        doc: self.id.clone(),
                        what: "photo",
                        id: hash.to_string(),
                    })?;
                self.put(&photo, "removed", true)?;
                self.touch(&it)
            }
            Edit::SpliceText {
                target,
                pos,
                delete,
                insert,
            } => self.splice(target, *pos, *delete, insert, false),
            Edit::SpliceTextUtf16 {
                target,
                pos,
                delete,
                insert,
            } => self.splice(target, *pos, *delete, insert, true),
            Edit::SetText { target, text } => {
                self.need_owner()?;
                let (obj, key, field, max) = self.text_target(target)?;
                validate::text(field, text, max)?;
                self.set_text_obj(&obj, key, text)?;
                if obj != ROOT {
                    self.touch(&obj)?;
                }
                Ok(())
            }
            Edit::AddComment { id, on, text } => {
                if text.trim().is_empty() {
                    return Err(ValidationError::new("text", "a comment must not be empty")
                        .broke(Rule::Empty)
                        .into());
                }
                validate::text("text", text, MAX_TEXT_CHARS)?;
                if let Some(on) = on {
                    let kind = self.id.kind();
                    self.live_item(container_of(kind), item_name(kind), on)?;
                }
                let c = self.new_item("comments", "comment", id)?;
                let author = self.ctx.user.to_string();
                self.put(&c, "author", author)?;
                self.put(&c, "role", self.ctx.role.as_str())?;
                let now = self.ctx.now_ms;
                self.put(&c, "at", now)?;
                if let Some(on) = on {
                    self.put(&c, "on", on.as_str())?;
                }
                self.new_text(&c, "text", text)
            }
            Edit::IssueItem { brief } => self.issue_item(brief),
            Edit::AddItemStep { id, step } => self.add_step(id, step),
            Edit::DeleteComment { id } => {
                let c = self.live_item("comments", "comment", id)?;
                if str_at(self.doc, &c, "author").as_deref() != Some(self.ctx.user.as_str()) {
                    return Err(CoreError::Forbidden {
                        doc: self.id.clone(),
                        reason: "only its author deletes a comment".into(),
                    });
                }
                self.put(&c, "deleted", true)?;
                let now = self.ctx.now_ms;
                self.put(&c, "deleted_at", now)?;
                self.touch(&c)
            }
        }
    }

    /// Open an item: the brief, by its issuer, once.
    fn issue_item(&mut self, brief: &ItemBrief) -> Result<(), CoreError> {
        self.need_kind(DocKind::Item)?;
        if self.ctx.role == crate::ids::Role::Cadre {
            return Err(CoreError::Forbidden {
                doc: self.id.clone(),
                reason: "a cadre does not issue items".into(),
            });
        }
        let map = self.root_map("brief")?;
        if self.doc.length(&map) > 0 {
            return Err(ValidationError::new("brief", "this item is already issued")
                .broke(Rule::Exists)
                .into());
        }
        check_brief(brief, &self.ctx.user)?;
        let now = self.ctx.now_ms;
        let issuer = self.ctx.user.to_string();
        let role = self.ctx.role.as_str();
        self.put(&map, "list", brief.list.as_str())?;
        self.put(&map, "source", brief.source.as_str())?;
        self.put(&map, "title", brief.title.trim())?;
        self.new_text(&map, "content", &brief.content)?;
        self.new_text(&map, "measures", &brief.measures)?;
        self.put(&map, "due", brief.due.format("%Y-%m-%d").to_string())?;
        self.put(&map, "unit", brief.unit.as_str())?;
        self.put(&map, "issuer", issuer)?;
        self.put(&map, "issuer_role", role)?;
        self.put(&map, "issued_at", now)?;
        self.put(&map, "responsible", brief.responsible.as_str())?;
        let c = self
            .doc
            .put_object(&map, "collaborators", ObjType::Map)
            .map_err(|e| self.am(e))?;
        for who in &brief.collaborators {
            let m = self
                .doc
                .put_object(&c, who.as_str(), ObjType::Map)
                .map_err(|e| self.am(e))?;
            self.put(&m, "added_at", now)?;
        }
        Ok(())
    }

    /// A step on an item, if the editor's part allows it and the item
    /// stands where the step makes sense.
    fn add_step(&mut self, id: &ItemId, step: &StepFields) -> Result<(), CoreError> {
        self.need_kind(DocKind::Item)?;
        let Record::Item(item) = super::read::record(self.id, &*self.doc) else {
            return Err(CoreError::corrupt(self.id, "an item reads as another kind"));
        };
        if item.brief.is_none() {
            return Err(CoreError::NotFound {
                doc: self.id.clone(),
                what: "brief",
                id: self.id.to_string(),
            });
        }
        let part = item.part_of(self.ctx.user.as_str());
        if !may_take_on(
            item.brief.as_ref().map(|b| b.list),
            step.action,
            part,
            self.ctx.role,
        ) {
            return Err(CoreError::Forbidden {
                doc: self.id.clone(),
                reason: format!(
                    "{} may not take the step `{}` on this item",
                    self.ctx.user,
                    step.action.as_str()
                ),
            });
        }
        let status = item.standing().status;
        let refuse = |why: &str| -> Result<(), CoreError> {
            Err(ValidationError::new("action", why)
                .broke(Rule::Inconsistent)
                .into())
        };
        match step.action {
            StepAction::RequestClose | StepAction::Confirm if status.is_closed() => {
                return refuse("the item is closed already");
            }
            StepAction::Confirm if status != ItemStatus::AwaitingConfirmation => {
                return refuse("销号 answers a request to close; none waits");
            }
            StepAction::RequestClose if status == ItemStatus::AwaitingConfirmation => {
                return refuse("closing was asked already; wait for the answer");
            }
            StepAction::SendBack if status != ItemStatus::AwaitingConfirmation => {
                return refuse("only an item awaiting confirmation is sent back");
            }
            _ => {}
        }
        if let Some(b) = &item.brief {
            check_verdict(b.list, step.action, step.verdict)
                .map_err(|why| ValidationError::new("verdict", why).broke(Rule::Inconsistent))?;
        }
        // A case's request to close is the answer its filer reads.
        let answers_filer = step.action == StepAction::RequestClose
            && item.brief.as_ref().is_some_and(|b| b.list.is_case());
        let needs_text = matches!(step.action, StepAction::SendBack)
            || answers_filer
            || (step.action == StepAction::Progress && step.photos.is_empty());
        if needs_text && step.text.trim().is_empty() {
            return Err(ValidationError::new(
                "text",
                "write what was done (or the reason for sending back)",
            )
            .broke(Rule::Empty)
            .into());
        }
        validate::text("text", &step.text, MAX_TEXT_CHARS)?;
        if step.photos.len() > MAX_PHOTOS_PER_ITEM {
            return Err(CoreError::TooMany {
                doc: self.id.clone(),
                what: "photos",
                max: MAX_PHOTOS_PER_ITEM,
            });
        }
        for p in &step.photos {
            if let Some(l) = &p.location {
                l.validate()?;
            }
        }
        let steps = self.root_map("steps")?;
        if self
            .doc
            .get(&steps, id.as_str())
            .map_err(|e| self.am(e))?
            .is_some()
        {
            return Err(
                ValidationError::new("id", format!("step {id} already exists"))
                    .broke(Rule::Exists)
                    .into(),
            );
        }
        if self.doc.length(&steps) >= MAX_ITEMS_PER_DOC {
            return Err(CoreError::TooMany {
                doc: self.id.clone(),
                what: "steps",
                max: MAX_ITEMS_PER_DOC,
            });
        }
        // After every step this replica has seen, whatever its clock says:
        // a step answers those before it (a request after a sending back
        // is ordered after it even on a phone whose clock is behind).
        let issued = item.brief.as_ref().map_or(0, |b| b.issued_at);
        let now = item
            .steps
            .iter()
            .map(|s| s.at.saturating_add(1))
            .chain([issued, self.ctx.now_ms])
            .max()
            .unwrap_or(self.ctx.now_ms);
        let by = self.ctx.user.to_string();
        let role = self.ctx.role.as_str();
        let s = self
            .doc
            .put_object(&steps, id.as_str(), ObjType::Map)
            .map_err(|e| self.am(e))?;
        self.put(&s, "schema", SCHEMA)?;
        self.put(&s, "action", step.action.as_str())?;
        self.put(&s, "by", by)?;
        self.put(&s, "role", role)?;
        self.put(&s, "at", now)?;
        self.new_text(&s, "text", &step.text)?;
        if let Some(v) = step.verdict {
            self.put(&s, "verdict", v.as_str())?;
        }
        let photos = self
            .doc
            .put_object(&s, "photos", ObjType::Map)
            .map_err(|e| self.am(e))?;
        for photo in &step.photos {
            if obj_at(self.doc, &photos, photo.hash.as_str(), ObjType::Map).is_some() {
                continue;
            }
            let p = self
                .doc
                .put_object(&photos, photo.hash.as_str(), ObjType::Map)
                .map_err(|e| self.am(e))?;
            self.put(&p, "added_at", now)?;
            if let Some(c) = photo.captured_at {
                self.put(&p, "captured_at", c)?;
            }
            if let Some(l) = &photo.location {
                self.put_location(&p, "location", l)?;
            }
        }
        Ok(())
    }

    fn mark_deleted(&mut self, kind: DocKind, id: &ItemId) -> Result<(), CoreError> {
        self.need_kind(kind)?;
        self.need_owner()?;
        let item = self.live_item(container_of(kind), item_name(kind), id)?;
        self.put(&item, "deleted", true)?;
        let now = self.ctx.now_ms;
        self.put(&item, "deleted_at", now)?;
        self.touch(&item)
    }

    /// Splice a text at `pos`, counted in characters or (`utf16`) in
    /// UTF-16 code units.
    fn splice(
        &mut self,
        target: &TextTarget,
        pos: usize,
        delete: usize,
        insert: &str,
        utf16: bool,
    ) -> Result<(), CoreError> {
        self.need_owner()?;
        let (obj, key, field, max) = self.text_target(target)?;
        let t = self.text_obj(&obj, key)?;
        let current = self.doc.text(&t).map_err(|e| self.am(e))?;
        let (pos, delete) = if utf16 {
            let bad = || {
                ValidationError::new(
                    field,
                    format!(
                        "splice {pos}+{delete} (UTF-16 units) is outside the text of {} units or inside a character",
                        current.encode_utf16().count()
                    ),
                )
                .broke(Rule::Position)
            };
            let start = utf16_to_chars(&current, pos).ok_or_else(bad)?;
            let end = pos
                .checked_add(delete)
                .and_then(|end| utf16_to_chars(&current, end))
                .ok_or_else(bad)?;
            (start, end - start)
        } else {
            (pos, delete)
        };
        let pos = &pos;
        let delete = &delete;
        let len = current.chars().count();
        let end = pos
            .checked_add(*delete)
            .filter(|end| *end <= len)
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    format!("splice {pos}+{delete} is outside the text of {len} characters"),
                )
                .broke(Rule::Position)
            })?;
        let mut after: String = current.chars().take(*pos).collect();
        after.push_str(insert);
        after.extend(current.chars().skip(end));
        validate::text(field, &after, max)?;
        let del = isize::try_from(*delete).map_err(|_| {
            ValidationError::new(field, "delete count too large").broke(Rule::Position)
        })?;
        self.doc
            .splice_text(&t, *pos, del, insert)
            .map_err(|e| self.am(e))?;
        if obj != ROOT {
            self.touch(&obj)?;
        }
        Ok(())
    }

    /// The object and key of a text target, its field name for errors and
    /// its length limit.
    fn text_target(
        &self,
        target: &TextTarget,
    ) -> Result<(ObjId, &'static str, &'static str, usize), CoreError> {
        let kind = self.id.kind();
        match target {
            TextTarget::Summary => {
                if matches!(kind, DocKind::Night | DocKind::Item) {
                    return Err(CoreError::WrongKind {
                        doc: self.id.clone(),
                        expected: DocKind::Diary,
                        actual: kind,
                    });
                }
                Ok((ROOT, "summary", "summary", MAX_TEXT_CHARS))
            }
            TextTarget::Item { id, field } => {
                let allowed = match kind {
                    DocKind::Diary => matches!(field, ItemText::Text),
                    DocKind::Night => matches!(field, ItemText::Issues | ItemText::Help),
                    DocKind::Plan => matches!(field, ItemText::Title | ItemText::Note),
                    DocKind::Item => false,
                };
                if !allowed {
                    return Err(ValidationError::new(
                        field.key(),
                        format!("a {} has no such text field", item_name(kind)),
                    )
                    .into());
                }
                let item = self.live_item(container_of(kind), item_name(kind), id)?;
                let max = if *field == ItemText::Title {
                    validate::MAX_SHORT_CHARS
                } else {
                    MAX_TEXT_CHARS
                };
                Ok((item, field.key(), field.key(), max))
            }
        }
    }

    /// The text object at `key`, created if a simpler writer left a string
    /// or nothing there.
    fn text_obj(&mut self, obj: &ObjId, key: &str) -> Result<ObjId, CoreError> {
        if let Some(t) = obj_at(self.doc, obj, key, ObjType::Text) {
            return Ok(t);
        }
        let old = str_at(self.doc, obj, key).unwrap_or_default();
        self.new_text(obj, key, &old)?;
        obj_at(self.doc, obj, key, ObjType::Text)
            .ok_or_else(|| CoreError::corrupt(self.id, "text object vanished"))
    }

    fn set_text_obj(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<(), CoreError> {
        let t = self.text_obj(obj, key)?;
        self.doc.update_text(&t, value).map_err(|e| self.am(e))
    }
}

/// A brief any reader can trust: a title, a due date, a responsible person
/// who is not the issuer, collaborators who are neither, within limits.
pub fn check_brief(brief: &ItemBrief, issuer: &UserId) -> Result<(), ValidationError> {
    if brief.title.trim().is_empty() {
        return Err(ValidationError::new("title", "must not be empty").broke(Rule::Empty));
    }
    validate::short("title", brief.title.trim())?;
    validate::short("unit", &brief.unit)?;
    if brief.unit.is_empty() {
        return Err(ValidationError::new("unit", "must not be empty").broke(Rule::Empty));
    }
    if brief.content.trim().is_empty() {
        return Err(ValidationError::new("content", "must not be empty").broke(Rule::Empty));
    }
    validate::text("content", &brief.content, MAX_TEXT_CHARS)?;
    validate::text("measures", &brief.measures, MAX_TEXT_CHARS)?;
    if &brief.responsible == issuer {
        return Err(ValidationError::new(
            "responsible",
            "an item is issued to someone else: its issuer confirms it",
        )
        .broke(Rule::Inconsistent));
    }
    if brief.collaborators.len() > MAX_COLLABORATORS {
        return Err(
            ValidationError::new("collaborators", format!("at most {MAX_COLLABORATORS}"))
                .broke(Rule::OutOfRange),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for c in &brief.collaborators {
        if c == issuer || c == &brief.responsible || !seen.insert(c) {
            return Err(ValidationError::new(
                "collaborators",
                format!("{c} is named twice (or is the issuer or the responsible person)"),
            )
            .broke(Rule::Inconsistent));
        }
    }
    Ok(())
}

fn check_span(
    start: crate::validate::TimeOfDay,
    end: crate::validate::TimeOfDay,
) -> Result<(), ValidationError> {
    // Night work may run past midnight: only an end equal to the start is
    // meaningless.
    if start == end {
        return Err(
            ValidationError::new("end", "must differ from the start").broke(Rule::Inconsistent)
        );
    }
    Ok(())
}

/// The character index at `units` UTF-16 code units into `text`; `None`
/// past the end or inside a surrogate pair.
pub(crate) fn utf16_to_chars(text: &str, units: usize) -> Option<usize> {
    let mut seen = 0;
    for (i, c) in text.chars().enumerate() {
        if seen == units {
            return Some(i);
        }
        seen += c.len_utf16();
        if seen > units {
            return None;
        }
    }
    (seen == units).then(|| text.chars().count())
}

//! 督办 items and 问题清单 problems on the phone: the ones I am named on
//! arrive with sync; I read them, add progress and ask to close them
//! offline, and see the issuer's answer (confirmed, or sent back with a
//! reason) at the next sync. A leader's phone answers the same way.

use std::sync::Arc;

use sync_core::document::item::{Item, StepAction, StepFields};
use sync_core::document::Record;
use sync_core::{DocId, DocKind, Edit, ItemId};

use crate::cancel::{off_thread, Cancel};
use crate::client::JishiClient;
use crate::error::{guard, JishiError};

/// A step to take on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ItemStepAction {
    /// 进展
    Progress,
    /// 申请销号 (the responsible person)
    RequestClose,
    /// 确认销号 (the issuer or the level above)
    Confirm,
    /// 退回, with a reason (the issuer or the level above)
    SendBack,
}

impl From<ItemStepAction> for StepAction {
    fn from(a: ItemStepAction) -> Self {
        match a {
            ItemStepAction::Progress => StepAction::Progress,
            ItemStepAction::RequestClose => StepAction::RequestClose,
            ItemStepAction::Confirm => StepAction::Confirm,
            ItemStepAction::SendBack => StepAction::SendBack,
        }
    }
}

/// What the 销号 of a complaint found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CaseVerdict {
    /// 属实
    Founded,
    /// 不属实
    Unfounded,
}

impl From<CaseVerdict> for sync_core::document::item::Verdict {
    fn from(v: CaseVerdict) -> Self {
        match v {
            CaseVerdict::Founded => Self::Founded,
            CaseVerdict::Unfounded => Self::Unfounded,
        }
    }
}

/// One step of an item's history.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ItemStepView {
    pub id: String,
    /// `progress`, `request_close`, `confirm` or `send_back`.
    pub action: String,
    pub by: String,
    pub role: String,
    pub at_ms: i64,
    pub text: String,
    pub photos: Vec<String>,
}

/// An item as the phone holds it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ItemView {
    pub doc_id: String,
    /// `supervision` (督办), `problem` (问题清单), `task` (交办任务),
    /// `complaint` (投诉举报) or `request` (便民诉求).
    pub list: String,
    /// A case the public brought (a complaint or a request): answered
    /// within three working days; the answer is the request to close.
    pub is_case: bool,
    pub source: String,
    pub title: String,
    pub content: String,
    pub measures: String,
    /// 时限, `YYYY-MM-DD`.
    pub due: String,
    pub unit_id: String,
    pub issuer_id: String,
    pub responsible_id: String,
    pub collaborator_ids: Vec<String>,
    pub issued_at_ms: i64,
    /// `open`, `awaiting_confirmation`, `returned` or `closed`.
    pub status: String,
    /// Past its 时限 (today on this phone) and not closed.
    pub overdue: bool,
    pub returned_because: Option<String>,
    pub closed_at_ms: Option<i64>,
    pub closed_by: Option<String>,
    pub sent_back: u32,
    /// The answer of the standing request to close (for a case: what its
    /// filer is told once confirmed).
    pub answer: Option<String>,
    /// A complaint's verdict once closed: `founded` (属实) or `unfounded`.
    pub verdict: Option<String>,
    /// `issuer`, `responsible`, `collaborator` or `reader`.
    pub my_part: String,
    /// The steps I may take now.
    pub may: Vec<ItemStepAction>,
    pub steps: Vec<ItemStepView>,
    /// Changed here and not yet on the server.
    pub unsynced: bool,
}

fn action_of(a: StepAction) -> ItemStepAction {
    match a {
        StepAction::Progress => ItemStepAction::Progress,
        StepAction::RequestClose => ItemStepAction::RequestClose,
        StepAction::Confirm => ItemStepAction::Confirm,
        StepAction::SendBack => ItemStepAction::SendBack,
    }
}

fn part_name(item: &Item, user: &str) -> &'static str {
    use sync_core::document::item::Part;
    match item.part_of(user) {
        Part::Issuer => "issuer",
        Part::Responsible => "responsible",
        Part::Collaborator => "collaborator",
        Part::Reader => "reader",
    }
}

fn item_id(doc_id: &str) -> Result<DocId, JishiError> {
    let id = DocId::parse(doc_id)
        .map_err(|e| JishiError::invalid_as("doc_id", "format", e.to_string()))?;
    if id.kind() != DocKind::Item {
        return Err(JishiError::invalid_as(
            "doc_id",
            "wrong_kind",
            format!("{doc_id} is not an item"),
        ));
    }
    Ok(id)
}

impl JishiClient {
    fn item_view(&self, id: &DocId) -> Result<Option<ItemView>, JishiError> {
        let (record, unsynced) = self.read(id)?;
        let Some(Record::Item(item)) = record else {
            return Ok(None);
        };
        let Some(b) = item.brief.clone() else {
            return Ok(None);
        };
        let ctx = Self::context(&self.replica())?;
        let me = ctx.user.to_string();
        let standing = item.standing();
        let today = chrono::Local::now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string();
        Ok(Some(ItemView {
            doc_id: id.to_string(),
            list: b.list.as_str().to_owned(),
            is_case: b.list.is_case(),
            source: b.source.as_str().to_owned(),
            title: b.title,
            content: b.content,
            measures: b.measures,
            overdue: !standing.status.is_closed() && today > b.due,
            due: b.due,
            unit_id: b.unit,
            issuer_id: b.issuer,
            responsible_id: b.responsible,
            collaborator_ids: b.collaborators,
            issued_at_ms: b.issued_at,
            status: standing.status.as_str().to_owned(),
            returned_because: standing.returned_because.clone(),
            closed_at_ms: standing.closed_at,
            closed_by: standing.closed_by.clone(),
            sent_back: standing.sent_back,
            answer: standing.answer.clone(),
            verdict: standing.verdict.map(|v| v.as_str().to_owned()),
            my_part: part_name(&item, &me).to_owned(),
            may: item
                .may_now(&me, ctx.role)
                .into_iter()
                .map(action_of)
                .collect(),
            steps: item
                .steps
                .iter()
                .map(|s| ItemStepView {
                    id: s.id.clone(),
                    action: s.action.as_str().to_owned(),
                    by: s.by.clone(),
                    role: s.role.clone(),
                    at_ms: s.at,
                    text: s.text.clone(),
                    photos: s.photos.iter().map(|p| p.hash.clone()).collect(),
                })
                .collect(),
            unsynced,
        }))
    }
}

impl JishiClient {
    /// Every item this phone holds, read; an item that does not read is
    /// an error (`Err`) in its place.
    fn items_here(&self) -> Result<Vec<Result<ItemView, JishiError>>, JishiError> {
        let ids: Vec<DocId> = self
            .replica()
            .doc_ids()?
            .into_iter()
            .filter(|id| id.kind() == DocKind::Item)
            .collect();
        Ok(ids
            .iter()
            .filter_map(|id| self.item_view(id).transpose())
            .collect())
    }

    /// The 固定任务 handed down to `owner` that belong to `month`
    /// (`YYYY-MM`), by 时限: issued by the month's end and not closed
    /// before it began (in every month from its issue to its 销号; an open
    /// task past its 时限 stays until it is closed) — the server's rule
    /// (`backend/src/items/plan.rs`). An item that does not read is left
    /// out: the plan still shows.
    pub(crate) fn handed_tasks(
        &self,
        owner: &str,
        month: &str,
    ) -> Result<Vec<ItemView>, JishiError> {
        let Ok(first) = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        else {
            return Ok(Vec::new());
        };
        let Some(next) = first.checked_add_months(chrono::Months::new(1)) else {
            return Ok(Vec::new());
        };
        let ms = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map_or(0, sync_core::china::ms_of);
        let (first_ms, next_ms) = (ms(first), ms(next));
        let mut out: Vec<ItemView> = self
            .items_here()?
            .into_iter()
            .filter_map(Result::ok)
            .filter(|v| {
                v.list == "task"
                    && v.responsible_id == owner
                    && v.issued_at_ms < next_ms
                    && v.closed_at_ms.is_none_or(|c| c >= first_ms)
            })
            .collect();
        out.sort_by(|a, b| (&a.due, &a.doc_id).cmp(&(&b.due, &b.doc_id)));
        Ok(out)
    }
}

#[uniffi::export]
impl JishiClient {
    /// The items on this phone (those I am named on, and for leaders those
    /// of the people they oversee): the ones waiting on me first (open,
    /// sent back, awaiting my confirmation), then by 时限; closed ones
    /// last. Works offline.
    pub fn my_items(&self) -> Result<Vec<ItemView>, JishiError> {
        guard(|| {
            let mut out = self
                .items_here()?
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            out.sort_by(|a, b| {
                let rank = |v: &ItemView| (v.status == "closed", v.may.is_empty());
                (rank(a), &a.due, &a.doc_id).cmp(&(rank(b), &b.due, &b.doc_id))
            });
            Ok(out)
        })
    }

    /// One item by its id (`item:…`).
    pub fn item(&self, doc_id: String) -> Result<ItemView, JishiError> {
        guard(|| {
            let id = item_id(&doc_id)?;
            self.item_view(&id)?.ok_or_else(|| {
                JishiError::invalid_as(
                    "doc_id",
                    "not_found",
                    format!("{doc_id} is not on this phone"),
                )
            })
        })
    }

    /// Take a step on an item, offline: progress (a note), a request to
    /// close (销号), or, for its issuer or the level above, a confirmation
    /// or a sending back with a reason. Refused with a typed error when my
    /// part does not allow it or the item does not stand where the step
    /// makes sense. Returns the step's id.
    pub fn take_item_step(
        &self,
        doc_id: String,
        action: ItemStepAction,
        text: String,
    ) -> Result<String, JishiError> {
        guard(|| {
            let id = item_id(&doc_id)?;
            let step_id = ItemId::random();
            self.edit(
                &id,
                Edit::AddItemStep {
                    id: step_id.clone(),
                    step: StepFields {
                        verdict: None,
                        action: action.into(),
                        text,
                        photos: Vec::new(),
                    },
                },
            )?;
            Ok(step_id.to_string())
        })
    }

    /// The cases on this phone (complaints and requests the public
    /// brought that I handle or confirm): those not closed first, by 时限
    /// (three working days from filing). Works offline.
    pub fn my_cases(&self) -> Result<Vec<ItemView>, JishiError> {
        guard(|| {
            let mut out: Vec<ItemView> = self
                .items_here()?
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|v| v.is_case)
                .collect();
            out.sort_by(|a, b| {
                (a.status == "closed", &a.due, &a.doc_id).cmp(&(
                    b.status == "closed",
                    &b.due,
                    &b.doc_id,
                ))
            });
            Ok(out)
        })
    }

    /// Confirm a complaint closed (销号), offline, with what was found:
    /// founded (属实) or not. For its confirmer or the level above; a
    /// request or a 督办 item is confirmed with `take_item_step` instead.
    /// Returns the step's id.
    pub fn confirm_complaint(
        &self,
        doc_id: String,
        verdict: CaseVerdict,
        text: String,
    ) -> Result<String, JishiError> {
        guard(|| {
            let id = item_id(&doc_id)?;
            let step_id = ItemId::random();
            self.edit(
                &id,
                Edit::AddItemStep {
                    id: step_id.clone(),
                    step: StepFields {
                        verdict: Some(verdict.into()),
                        action: StepAction::Confirm,
                        text,
                        photos: Vec::new(),
                    },
                },
            )?;
            Ok(step_id.to_string())
        })
    }

    /// `take_item_step` with photos (camera files, JPEG or PNG): progress
    /// shown on the spot. Each photo is made upright, at most 1,600 px and
    /// stripped, as for `attach_photo`; the step is made whole with its
    /// photos (a step is never changed after), and the photos are queued for
    /// upload in the same transaction. At most [`MAX_STEP_PHOTOS`]. Off the
    /// caller's thread.
    pub async fn take_item_step_with_photos(
        self: Arc<Self>,
        doc_id: String,
        action: ItemStepAction,
        text: String,
        camera_files: Vec<String>,
    ) -> Result<String, JishiError> {
        off_thread(Cancel::new(), move || {
            guard(|| {
                let id = item_id(&doc_id)?;
                if camera_files.len() > MAX_STEP_PHOTOS {
                    return Err(JishiError::invalid_as(
                        "camera_files",
                        "too_many",
                        format!(
                            "{} photos on one step; at most {MAX_STEP_PHOTOS}",
                            camera_files.len()
                        ),
                    ));
                }
                let mut prepared = Vec::with_capacity(camera_files.len());
                for (i, f) in camera_files.iter().enumerate() {
                    let bytes = self.read_camera(f, &format!("camera_files[{i}]"))?;
                    prepared.push(self.prepare(bytes)?);
                }
                let step_id = ItemId::random();
                let edit = Edit::AddItemStep {
                    id: step_id.clone(),
                    step: StepFields {
                        verdict: None,
                        action: action.into(),
                        text,
                        photos: prepared.iter().map(|p| p.photo_ref()).collect(),
                    },
                };
                {
                    let mut r = self.replica();
                    let ctx = Self::context(&r)?;
                    r.edit_with_photos(&id, &edit, &step_id, &prepared, &ctx)?;
                }
                self.changed_here(&id);
                Ok(step_id.to_string())
            })
        })
        .await
    }
}

/// The most photos one step of an item carries.
pub const MAX_STEP_PHOTOS: usize = 9;

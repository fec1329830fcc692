//! The typed vocabulary of documents: the edits a user can make and the plain
//! Rust read model a document turns into.
//!
//! Nothing here touches Automerge; `write.rs` turns an [`Edit`] into
//! operations and `read.rs` turns a document into a [`Record`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{DocId, ItemId, Role, UserId};
use crate::validate::{Location, PhotoHash, TimeOfDay};

/// The kind of daytime work an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 走访
    Visit,
    /// 会议
    Meeting,
    /// 项目
    Project,
    /// 调解
    Mediation,
    /// 学习
    Study,
    /// 值班
    Duty,
    /// 其他
    Other,
}

/// The four night activities (四夜).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NightKind {
    /// 夜学
    Study,
    /// 夜访
    Visit,
    /// 夜议
    Discussion,
    /// 夜帮
    Help,
}

/// 固定任务 / 动态任务
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Fixed,
    Dynamic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Dropped,
}

/// `as_str`, `parse` and `ALL` (every value as written) of an enum kept
/// as a string in the documents.
macro_rules! str_enum {
    ($ty:ident, $field:literal, { $($variant:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [&'static str] = &[$($s),+];
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Result<Self, $crate::validate::ValidationError> {
                match s {
                    $($s => Ok($ty::$variant),)+
                    _ => Err($crate::validate::ValidationError::new(
                        $field,
                        concat!("must be one of:" $(, " ", $s)+),
                    )
                    .broke($crate::validate::Rule::Format)),
                }
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(Category, "category", {
    Visit => "visit", Meeting => "meeting", Project => "project", Mediation => "mediation",
    Study => "study", Duty => "duty", Other => "other",
});
str_enum!(NightKind, "kind", {
    Study => "study", Visit => "visit", Discussion => "discussion", Help => "help",
});
str_enum!(TaskKind, "kind", { Fixed => "fixed", Dynamic => "dynamic" });
str_enum!(TaskStatus, "status", { Open => "open", Done => "done", Dropped => "dropped" });

/// Where a cadre is (在岗及去向), as shown on the public card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// 在岗: at the office.
    OnDuty,
    /// 下村: in a village (which one: `Status::village`).
    InVillage,
    /// 会议
    Meeting,
    /// 出差
    Travel,
    /// 培训
    Training,
    /// 请假
    Leave,
}
str_enum!(StatusKind, "status", {
    OnDuty => "on_duty", InVillage => "in_village", Meeting => "meeting",
    Travel => "travel", Training => "training", Leave => "leave",
});

impl StatusKind {
    pub fn zh(self) -> &'static str {
        match self {
            StatusKind::OnDuty => "在岗",
            StatusKind::InVillage => "下村",
            StatusKind::Meeting => "会议",
            StatusKind::Travel => "出差",
            StatusKind::Training => "培训",
            StatusKind::Leave => "请假",
        }
    }
}

/// A cadre's status as last set on a day: never more precise than the
/// village (a unit id, not a place or a position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub kind: StatusKind,
    /// The village's unit id, with `InVillage` only.
    pub village: Option<String>,
    /// When it was set, by the phone's clock (ms).
    pub at: i64,
}

/// A photo attached to an entry or activity. Capture time and position come
/// from the camera file; the published image never carries them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoRef {
    pub hash: PhotoHash,
    /// Milliseconds since the Unix epoch, as the camera recorded it.
    pub captured_at: Option<i64>,
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryFields {
    pub time: TimeOfDay,
    pub category: Category,
    pub place: String,
    pub text: String,
    pub households: u32,
    pub location: Option<Location>,
}

/// Fields of an entry to change; `None` leaves a field as it is. Text is
/// edited with [`Edit::SpliceText`] or [`Edit::SetText`] so that it merges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryPatch {
    pub time: Option<TimeOfDay>,
    pub category: Option<Category>,
    pub place: Option<String>,
    pub households: Option<u32>,
    /// `Some(None)` removes the location.
    pub location: Option<Option<Location>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityFields {
    pub kind: NightKind,
    pub start: TimeOfDay,
    pub end: Option<TimeOfDay>,
    pub place: String,
    pub households: u32,
    /// 收集问题
    pub issues: String,
    /// 帮办实事
    pub help: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityPatch {
    pub kind: Option<NightKind>,
    pub start: Option<TimeOfDay>,
    pub end: Option<Option<TimeOfDay>>,
    pub place: Option<String>,
    pub households: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFields {
    pub title: String,
    pub kind: TaskKind,
    pub due: Option<NaiveDate>,
}

/// Which text object an edit addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextTarget {
    /// The diary's day summary or the plan's month summary (月小结).
    Summary,
    /// A text field of an item (entry, activity or task).
    Item { id: ItemId, field: ItemText },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemText {
    /// An entry's text.
    Text,
    /// An activity's issues raised.
    Issues,
    /// An activity's help given.
    Help,
    /// A task's title.
    Title,
    /// A task's closing note.
    Note,
}

impl ItemText {
    pub(crate) fn key(self) -> &'static str {
        match self {
            ItemText::Text => "text",
            ItemText::Issues => "issues",
            ItemText::Help => "help",
            ItemText::Title => "title",
            ItemText::Note => "note",
        }
    }
}

/// One typed edit. Every edit is validated whole before anything is written,
/// and becomes one Automerge change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Edit {
    AddEntry {
        id: ItemId,
        fields: EntryFields,
    },
    UpdateEntry {
        id: ItemId,
        patch: EntryPatch,
    },
    DeleteEntry {
        id: ItemId,
    },
    AddActivity {
        id: ItemId,
        fields: ActivityFields,
    },
    UpdateActivity {
        id: ItemId,
        patch: ActivityPatch,
    },
    DeleteActivity {
        id: ItemId,
    },
    SetOvernight {
        stayed: bool,
        place: Option<String>,
    },
    /// Where the owner is now (在岗及去向), on the diary of the day: a
    /// village's unit id with `InVillage` only, and then required.
    SetStatus {
        kind: StatusKind,
        village: Option<String>,
    },
    AddTask {
        id: ItemId,
        fields: TaskFields,
    },
    /// 销号: mark a task done or dropped, with a note.
    CloseTask {
        id: ItemId,
        status: TaskStatus,
        note: String,
    },
    ReopenTask {
        id: ItemId,
    },
    /// Move a task's due date, or clear it (`None`).
    SetTaskDue {
        id: ItemId,
        due: Option<NaiveDate>,
    },
    DeleteTask {
        id: ItemId,
    },
    AttachPhoto {
        item: ItemId,
        photo: PhotoRef,
    },
    DetachPhoto {
        item: ItemId,
        hash: PhotoHash,
    },
    /// Replace `delete` characters at `pos` (Unicode scalar values) with `insert`.
    SpliceText {
        target: TextTarget,
        pos: usize,
        delete: usize,
        insert: String,
    },
    /// [`Edit::SpliceText`] with `pos` and `delete` in UTF-16 code units,
    /// as Android and iOS count them (an emoji or 𠮷 is two); a position
    /// inside a character's pair of units is refused.
    SpliceTextUtf16 {
        target: TextTarget,
        pos: usize,
        delete: usize,
        insert: String,
    },
    /// Replace the whole text, as a minimal diff so concurrent edits merge.
    SetText {
        target: TextTarget,
        text: String,
    },
    /// A remark on the document, or on one item of it when `on` is given.
    AddComment {
        id: ItemId,
        on: Option<ItemId>,
        text: String,
    },
    DeleteComment {
        id: ItemId,
    },
    /// Open a 督办 item or a problem: the brief, written once by its
    /// issuer (the editor).
    IssueItem {
        brief: super::item::ItemBrief,
    },
    /// A step on an item (progress, a request to close, 销号, sending
    /// back), made once and never changed.
    AddItemStep {
        id: ItemId,
        step: super::item::StepFields,
    },
}

/// Who makes an edit, and when (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditContext {
    pub user: UserId,
    pub role: Role,
    pub now_ms: i64,
}

// ---- read model -------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    pub hash: String,
    pub added_at: i64,
    pub captured_at: Option<i64>,
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub time: String,
    pub category: Category,
    pub place: String,
    pub text: String,
    pub households: u64,
    pub location: Option<Location>,
    pub photos: Vec<Photo>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: String,
    pub kind: NightKind,
    pub start: String,
    pub end: Option<String>,
    pub place: String,
    pub households: u64,
    pub issues: String,
    pub help: String,
    pub photos: Vec<Photo>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub kind: TaskKind,
    pub due: Option<String>,
    pub status: TaskStatus,
    pub closed_at: Option<i64>,
    pub note: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub id: String,
    pub author: String,
    pub role: String,
    pub on: Option<String>,
    pub text: String,
    pub at: i64,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diary {
    pub id: DocId,
    pub schema: u64,
    /// Entries in time order (then id); deleted ones are kept, marked.
    pub entries: Vec<Entry>,
    pub summary: String,
    pub comments: Vec<Comment>,
    /// Where the owner said they were that day, last (absent in diaries
    /// written before issue 27).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Night {
    pub id: DocId,
    pub schema: u64,
    pub activities: Vec<Activity>,
    pub stayed_overnight: bool,
    pub overnight_place: Option<String>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: DocId,
    pub schema: u64,
    pub tasks: Vec<Task>,
    pub summary: String,
    pub comments: Vec<Comment>,
}

/// A document as plain values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Diary(Diary),
    Night(Night),
    Plan(Plan),
    Item(super::item::Item),
}

impl Record {
    /// The text `target` addresses, if the record has it (a live item, a
    /// summary of a diary or plan).
    pub fn text_at_mut(&mut self, target: &TextTarget) -> Option<&mut String> {
        let item = |id: &ItemId| id.as_str().to_owned();
        match (self, target) {
            (Record::Diary(d), TextTarget::Summary) => Some(&mut d.summary),
            (Record::Plan(p), TextTarget::Summary) => Some(&mut p.summary),
            (
                Record::Diary(d),
                TextTarget::Item {
                    id,
                    field: ItemText::Text,
                },
            ) => d
                .entries
                .iter_mut()
                .find(|e| e.id == item(id) && !e.deleted)
                .map(|e| &mut e.text),
            (Record::Night(n), TextTarget::Item { id, field }) => {
                let a = n
                    .activities
                    .iter_mut()
                    .find(|a| a.id == item(id) && !a.deleted)?;
                match field {
                    ItemText::Issues => Some(&mut a.issues),
                    ItemText::Help => Some(&mut a.help),
                    _ => None,
                }
            }
            (Record::Plan(p), TextTarget::Item { id, field }) => {
                let t = p
                    .tasks
                    .iter_mut()
                    .find(|t| t.id == item(id) && !t.deleted)?;
                match field {
                    ItemText::Title => Some(&mut t.title),
                    ItemText::Note => Some(&mut t.note),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub fn comments(&self) -> &[Comment] {
        match self {
            Record::Diary(d) => &d.comments,
            Record::Night(n) => &n.comments,
            Record::Plan(p) => &p.comments,
            Record::Item(i) => &i.comments,
        }
    }
}

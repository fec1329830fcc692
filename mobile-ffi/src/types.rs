//! The values the app sees: plain records and enums, converted from
//! sync-core's types. No Automerge or SQL detail crosses the boundary.
//! Dates are `YYYY-MM-DD`, months `YYYY-MM`, times of day `HH:MM`, instants
//! milliseconds since the Unix epoch.

use sync_core::document as doc;
use sync_core::validate::Location;

use crate::error::JishiError;
use crate::items::ItemView;

/// 工作日志的类别.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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

/// 固定任务 / 动态任务.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TaskKind {
    Fixed,
    Dynamic,
}

/// Which text of a record `splice_text` and `set_text` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TextField {
    /// The diary's day summary or the plan's month summary (no item).
    Summary,
    /// An entry's text.
    Text,
    /// A night activity's issues raised.
    Issues,
    /// A night activity's help given.
    Help,
    /// A task's title.
    Title,
    /// A task's closing note.
    Note,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TaskStatus {
    Open,
    Done,
    Dropped,
}

macro_rules! mirror {
    ($ours:ident <-> $theirs:path { $($v:ident),+ }) => {
        impl From<$ours> for $theirs {
            fn from(v: $ours) -> Self {
                use $theirs as T;
                match v { $($ours::$v => T::$v),+ }
            }
        }
        impl From<$theirs> for $ours {
            fn from(v: $theirs) -> Self {
                use $theirs as T;
                match v { $(T::$v => $ours::$v),+ }
            }
        }
    };
}
mirror!(Category <-> doc::Category { Visit, Meeting, Project, Mediation, Study, Duty, Other });
mirror!(NightKind <-> doc::NightKind { Study, Visit, Discussion, Help });
mirror!(TaskKind <-> doc::TaskKind { Fixed, Dynamic });
mirror!(TaskStatus <-> doc::TaskStatus { Open, Done, Dropped });

/// A position from the phone's GPS.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy_m: f64,
}

impl From<GeoPoint> for Location {
    fn from(g: GeoPoint) -> Self {
        Location {
            lat: g.lat,
            lon: g.lon,
            accuracy_m: g.accuracy_m,
        }
    }
}

impl From<Location> for GeoPoint {
    fn from(l: Location) -> Self {
        GeoPoint {
            lat: l.lat,
            lon: l.lon,
            accuracy_m: l.accuracy_m,
        }
    }
}

/// A new diary entry.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EntryInput {
    /// `HH:MM`
    pub time: String,
    pub category: Category,
    pub place: String,
    pub text: String,
    /// Households visited (走访户数).
    pub households: u32,
    pub location: Option<GeoPoint>,
}

/// Changes to an entry's fields; `None` leaves a field alone. The text is
/// changed with `splice_entry_text` / `set_entry_text` so edits merge.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct EntryUpdate {
    pub time: Option<String>,
    pub category: Option<Category>,
    pub place: Option<String>,
    pub households: Option<u32>,
    pub location: Option<GeoPoint>,
    /// Remove the location (wins over `location`).
    pub clear_location: bool,
}

/// One day at a glance (the week and calendar screens).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DayOverview {
    /// `YYYY-MM-DD`
    pub date: String,
    pub diary_id: String,
    pub night_id: String,
    pub entries: u32,
    /// Households visited, added up over the day's entries (户数).
    pub households: u32,
    pub night_activities: u32,
    pub stayed_overnight: bool,
    pub has_summary: bool,
    pub photos: u32,
    pub comments: u32,
    /// Changes of the day the server has not acknowledged.
    pub unsynced: bool,
}

/// A document on this phone, named.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocRef {
    pub doc_id: String,
    /// `diary`, `night` or `plan`.
    pub kind: String,
    pub owner_id: String,
    /// `YYYY-MM-DD` or `YYYY-MM`.
    pub period: String,
    pub unsynced: bool,
}

/// Changes to a night activity's fields (its texts: `splice_text`).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ActivityUpdate {
    pub kind: Option<NightKind>,
    /// `HH:MM`
    pub start: Option<String>,
    /// `HH:MM`
    pub end: Option<String>,
    /// Remove the end time (wins over `end`).
    pub clear_end: bool,
    pub place: Option<String>,
    pub households: Option<u32>,
}

/// A new night activity.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ActivityInput {
    pub kind: NightKind,
    /// `HH:MM`
    pub start: String,
    pub end: Option<String>,
    pub place: String,
    pub households: u32,
    /// 收集问题
    pub issues: String,
    /// 帮办实事
    pub help: String,
}

/// A new task of the monthly plan.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskInput {
    pub title: String,
    pub kind: TaskKind,
    /// `YYYY-MM-DD`
    pub due: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoView {
    /// SHA-256 of the uploaded JPEG: its name on the server.
    pub hash: String,
    pub added_at_ms: i64,
    pub captured_at_ms: Option<i64>,
    pub location: Option<GeoPoint>,
    /// A file on this phone to show it (the phone's own, or downloaded
    /// before); `None`: get one with `photo_file`.
    pub local_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EntryView {
    pub id: String,
    pub time: String,
    pub category: Category,
    pub place: String,
    pub text: String,
    pub households: u32,
    pub location: Option<GeoPoint>,
    pub photos: Vec<PhotoView>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ActivityView {
    pub id: String,
    pub kind: NightKind,
    pub start: String,
    pub end: Option<String>,
    pub place: String,
    pub households: u32,
    pub issues: String,
    pub help: String,
    pub photos: Vec<PhotoView>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    pub kind: TaskKind,
    pub due: Option<String>,
    pub status: TaskStatus,
    pub closed_at_ms: Option<i64>,
    pub note: String,
}

/// A supervisor's (or anyone's) remark on a record or one of its items.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CommentView {
    pub id: String,
    /// The author's user id.
    pub author: String,
    /// The author's role: `cadre`, `leader`, `supervisor`, `admin`.
    pub role: String,
    /// The entry, activity or task it is about, if any.
    pub on_item: Option<String>,
    pub text: String,
    pub at_ms: i64,
}

/// One day's work diary (工作纪实). Deleted entries are not shown.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DiaryView {
    pub doc_id: String,
    pub date: String,
    pub entries: Vec<EntryView>,
    /// The day summary.
    pub summary: String,
    pub comments: Vec<CommentView>,
    /// Changes on this phone the server has not acknowledged yet.
    pub unsynced: bool,
}

/// One night's log (四夜).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NightView {
    pub doc_id: String,
    pub date: String,
    pub activities: Vec<ActivityView>,
    pub stayed_overnight: bool,
    pub overnight_place: Option<String>,
    pub comments: Vec<CommentView>,
    pub unsynced: bool,
}

/// One month's plan (月初晒承诺, 销号, 月小结).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlanView {
    pub doc_id: String,
    pub month: String,
    pub tasks: Vec<TaskView>,
    /// 固定任务 a leader handed down into this plan (items of the list
    /// `task` due this month): worked and closed with `take_item_step`,
    /// done only once the issuer confirms.
    pub handed: Vec<ItemView>,
    pub summary: String,
    pub comments: Vec<CommentView>,
    pub unsynced: bool,
}

/// A comment on one of my records, for the app's notifications.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CommentNotice {
    pub doc_id: String,
    pub comment: CommentView,
    /// Newer than what `mark_comments_read` last covered.
    pub unread: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UploadStatus {
    Queued,
    Uploading,
    Done,
    Failed,
}

/// A photo in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutboxPhotoView {
    pub hash: String,
    pub doc_id: String,
    pub item_id: String,
    pub status: UploadStatus,
    /// Bytes the server has acknowledged.
    pub sent_bytes: u64,
    pub total_bytes: u64,
    /// Why the server refused it, when `Failed`.
    pub error: Option<String>,
}

/// The logged-in account, kept on the phone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Account {
    pub user_id: String,
    /// `cadre`, `leader`, `supervisor` or `admin`.
    pub role: String,
    pub device_id: String,
    /// The refresh token is gone (logged out, or expired after a long time
    /// offline): records can still be written; `sync()` needs a login.
    pub needs_login: bool,
    /// When a login will be needed if the phone stays offline until then
    /// (the refresh token runs out; each sync starts the time anew): warn
    /// the cadre a week before. `None` when logged out or unknown.
    pub login_expires_at_ms: Option<i64>,
    /// Set by the `login()` that made this phone a new device:
    /// `device_revoked` (an administrator revoked the old one) or
    /// `device_copied` (this folder is an older copy of another phone's,
    /// restored from a backup or cloned). The records not yet synced moved
    /// to the new device and go with its next sync; tell the cadre so.
    pub became_new_device: Option<String>,
}

/// A document the server refused or that failed to apply here.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocProblemView {
    pub doc_id: String,
    /// The server's refusal code (`docs/sync-protocol.md`, "Refusal
    /// codes"): `forbidden_change`, `document_full` (the document is at a
    /// limit: 500 items, 200,000 edits, 4 MiB), `bad_date` (a day after
    /// tomorrow, a plan beyond next month), `too_large`, `not_found`,
    /// `bad_message`; `local_error` when it failed on this phone.
    pub code: String,
    pub message: String,
}

/// What one `sync()` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    pub round_trips: u32,
    pub documents_sent: u64,
    pub documents_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub photos_uploaded: u32,
    /// Photos still waiting (the network failed; they resume next time).
    pub photos_pending: u32,
    /// Photos the server refused (see `outbox()` for the reason).
    pub photos_failed: u32,
    pub problems: Vec<DocProblemView>,
    /// Everything was done; `false`: the deadline came first (the next
    /// sync goes on).
    pub complete: bool,
}

/// The last sync's time and result.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct LastSync {
    pub at_ms: i64,
    pub ok: bool,
    /// A one-line result for the status bar.
    pub message: String,
}

/// Progress reported while `sync()` runs.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncProgress {
    /// One round trip of documents done.
    Documents {
        round_trip: u32,
        sent: u64,
        received: u64,
    },
    /// Bytes of one photo the server holds.
    Photo {
        hash: String,
        index: u32,
        count: u32,
        sent_bytes: u64,
        total_bytes: u64,
    },
    Finished,
}

pub(crate) fn comment(c: doc::Comment) -> CommentView {
    CommentView {
        id: c.id,
        author: c.author,
        role: c.role,
        on_item: c.on,
        text: c.text,
        at_ms: c.at,
    }
}

pub(crate) fn comments(cs: Vec<doc::Comment>) -> Vec<CommentView> {
    cs.into_iter().filter(|c| !c.deleted).map(comment).collect()
}

fn photos(ps: Vec<doc::Photo>) -> Vec<PhotoView> {
    ps.into_iter()
        .map(|p| PhotoView {
            hash: p.hash,
            added_at_ms: p.added_at,
            captured_at_ms: p.captured_at,
            location: p.location.map(Into::into),
            local_path: None,
        })
        .collect()
}

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn entry(e: doc::Entry) -> EntryView {
    EntryView {
        id: e.id,
        time: e.time,
        category: e.category.into(),
        place: e.place,
        text: e.text,
        households: count(e.households),
        location: e.location.map(Into::into),
        photos: photos(e.photos),
        created_at_ms: e.created_at,
        updated_at_ms: e.updated_at,
    }
}

pub(crate) fn activity(a: doc::Activity) -> ActivityView {
    ActivityView {
        id: a.id,
        kind: a.kind.into(),
        start: a.start,
        end: a.end,
        place: a.place,
        households: count(a.households),
        issues: a.issues,
        help: a.help,
        photos: photos(a.photos),
    }
}

pub(crate) fn task(t: doc::Task) -> TaskView {
    TaskView {
        id: t.id,
        title: t.title,
        kind: t.kind.into(),
        due: t.due,
        status: t.status.into(),
        closed_at_ms: t.closed_at,
        note: t.note,
    }
}

pub(crate) fn upload_status(s: &str) -> Result<UploadStatus, JishiError> {
    Ok(match s {
        "queued" => UploadStatus::Queued,
        "uploading" => UploadStatus::Uploading,
        "done" => UploadStatus::Done,
        "failed" => UploadStatus::Failed,
        other => {
            return Err(JishiError::Storage {
                detail: format!("unknown outbox state {other:?}"),
            })
        }
    })
}

//! The 权力清单 (list of powers) and 责任清单 (list of responsibilities) of
//! each post (岗位, the users' `post`) of a unit, as the counties publish
//! them (seed 002, 蓬安): kept by admins on the web pages and with `jishi
//! admin post-list`, shown on the unit's public board and read by the API.
//!
//! Guarantees: every save is a new version (1, 2, 3 … per unit, post and
//! kind), with who saved it, when and why, and no version is changed
//! afterwards; an empty version withdraws the list; everything is bounded
//! here before it is stored ([`MAX_ENTRIES`], the `MAX_*_CHARS`), and a
//! refusal names what to fix. The public and the future cadre card read the
//! current versions only ([`unit_lists`], [`current_for_post`]).

use serde::{Deserialize, Serialize};
use sync_core::Role;

use crate::access::AccessError;
use crate::problem::{IntoProblem, Problem};
use crate::storage::{
    NewPostListVersion, PostListEntryRow, PostListRow, PostListSave, Store, StoreError, Unit, User,
};

/// The longest post name (as the roster import takes a 职务).
pub const MAX_POST_CHARS: usize = 50;
/// The most entries a list has (蓬安's longest lists have a few dozen).
pub const MAX_ENTRIES: usize = 200;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BASIS_CHARS: usize = 500;
pub const MAX_DETAIL_CHARS: usize = 2_000;
pub const MAX_NOTE_CHARS: usize = 500;
/// The most text of one list, all entries together.
pub const MAX_LIST_CHARS: usize = 100_000;

/// Which list of a post.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// 权力清单: what the post may decide, approve or impose.
    Power,
    /// 责任清单: what the post answers for.
    Duty,
}

impl ListKind {
    pub const ALL: [ListKind; 2] = [ListKind::Power, ListKind::Duty];

    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Power => "power",
            ListKind::Duty => "duty",
        }
    }

    /// `power` or `duty`, or the Chinese names.
    pub fn parse(s: &str) -> Result<ListKind, PostListError> {
        match s.trim() {
            "power" | "权力清单" | "权力" => Ok(ListKind::Power),
            "duty" | "责任清单" | "责任" => Ok(ListKind::Duty),
            other => Err(PostListError::BadKind(other.chars().take(40).collect())),
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            ListKind::Power => "权力清单",
            ListKind::Duty => "责任清单",
        }
    }
}

/// A post's name (职务), trimmed, 1 to [`MAX_POST_CHARS`] characters, one
/// line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PostName(String);

impl PostName {
    pub fn parse(s: &str) -> Result<PostName, PostListError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PostListError::BadPost(
                "the post (职务) is empty; give its name, e.g. 党委书记".into(),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(PostListError::BadPost(
                "the post (职务) must be one line without control characters".into(),
            ));
        }
        let n = s.chars().count();
        if n > MAX_POST_CHARS {
            return Err(PostListError::TooLong {
                what: "the post (职务)".into(),
                chars: n,
                max: MAX_POST_CHARS,
            });
        }
        Ok(PostName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One entry (事项) of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// 事项: what the power or responsibility is.
    pub title: String,
    /// 依据: the law, regulation or document it rests on (may be empty).
    #[serde(default)]
    pub basis: String,
    /// 说明: how it is exercised, or more detail (may be empty).
    #[serde(default)]
    pub detail: String,
}

/// The separators of an entry's fields on a line: the full-width bar a
/// Chinese keyboard types, the ASCII bar, and a tab (cells pasted from a
/// spreadsheet).
const SEPARATORS: [char; 3] = ['｜', '|', '\t'];

/// Entries from text, one per line: `事项｜依据｜说明` (fields separated by
/// `｜`, `|` or a tab; 依据 and 说明 may be left out). Blank lines are
/// skipped and a leading number (`1.`, `2、`, `（3）`) is dropped, so a
/// numbered list pasted from a document reads as it looks.
pub fn parse_entries(text: &str) -> Result<Vec<Entry>, PostListError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.chars().count() > MAX_LIST_CHARS {
        return Err(PostListError::TooLong {
            what: "the list".into(),
            chars: text.chars().count(),
            max: MAX_LIST_CHARS,
        });
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(SEPARATORS).map(str::trim).collect();
        if fields.len() > 3 {
            return Err(PostListError::BadLine {
                line: line_no,
                reason: format!(
                    "{} fields; an entry has at most three: 事项｜依据｜说明 (a bar inside a \
                     field: write it as ／ or remove it)",
                    fields.len()
                ),
            });
        }
        let entry = Entry {
            title: strip_number(fields[0]).trim().to_owned(),
            basis: fields.get(1).copied().unwrap_or_default().to_owned(),
            detail: fields.get(2).copied().unwrap_or_default().to_owned(),
        };
        check_entry(line_no, &entry)?;
        out.push(entry);
        if out.len() > MAX_ENTRIES {
            return Err(PostListError::TooMany(out.len()));
        }
    }
    check_entries(&out)?;
    Ok(out)
}

/// `s` without a leading list number: `1.` `1．` `1、` `1)` `1）` `(1)`
/// `（1）`, up to three digits, when more text follows (and not a decimal:
/// `1.5亩` stays).
fn strip_number(s: &str) -> &str {
    let (open, rest) = match s.strip_prefix(['(', '（']) {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return s;
    }
    let after = &rest[digits..];
    let closers: &[char] = if open {
        &[')', '）']
    } else {
        &['.', '．', '、', ')', '）']
    };
    match after.strip_prefix(closers) {
        Some(tail)
            if !tail.starts_with(|c: char| c.is_ascii_digit()) && !tail.trim().is_empty() =>
        {
            tail
        }
        _ => s,
    }
}

/// The text [`parse_entries`] reads back as `entries` (the edit form's
/// starting text).
pub fn entries_text(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&e.title);
        if !e.basis.is_empty() || !e.detail.is_empty() {
            out.push('｜');
            out.push_str(&e.basis);
        }
        if !e.detail.is_empty() {
            out.push('｜');
            out.push_str(&e.detail);
        }
        out.push('\n');
    }
    out
}

/// The fields of an entry: (English, Chinese) name, bound, required.
const FIELDS: [(&str, &str, usize, bool); 3] = [
    ("title", "事项", MAX_TITLE_CHARS, true),
    ("basis", "依据", MAX_BASIS_CHARS, false),
    ("detail", "说明", MAX_DETAIL_CHARS, false),
];

/// The bounds of one entry, on line (or at place) `line`.
/// A character that changes the direction text is shown in.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

fn check_entry(line: usize, e: &Entry) -> Result<(), PostListError> {
    for ((name, zh, max, required), value) in
        FIELDS.into_iter().zip([&e.title, &e.basis, &e.detail])
    {
        if required && value.trim().is_empty() {
            return Err(PostListError::BadLine {
                line,
                reason: "the entry has no 事项 (the first field); write what the power or \
                         responsibility is before the first ｜"
                    .into(),
            });
        }
        if value.chars().any(char::is_control) {
            return Err(PostListError::BadLine {
                line,
                reason: format!("the {name} ({zh}) has control characters; remove them"),
            });
        }
        // Direction overrides and isolates would reorder what the public
        // board shows (a basis read backwards, a phone number turned round).
        if value.chars().any(is_direction_control) {
            return Err(PostListError::BadLine {
                line,
                reason: format!(
                    "the {name} ({zh}) has invisible text-direction characters \
                     (U+200E/F, U+202A–202E, U+2066–2069, U+061C); remove them"
                ),
            });
        }
        let chars = value.chars().count();
        if chars > max {
            return Err(PostListError::FieldTooLong {
                line,
                field: name,
                zh,
                chars,
                max,
            });
        }
    }
    Ok(())
}

/// The bounds of a list, whoever made the entries (numbered from 1).
pub fn check_entries(entries: &[Entry]) -> Result<(), PostListError> {
    if entries.len() > MAX_ENTRIES {
        return Err(PostListError::TooMany(entries.len()));
    }
    let mut total = 0;
    for (i, e) in entries.iter().enumerate() {
        check_entry(i + 1, e)?;
        total += e.title.chars().count() + e.basis.chars().count() + e.detail.chars().count();
    }
    if total > MAX_LIST_CHARS {
        return Err(PostListError::TooLong {
            what: "the list".into(),
            chars: total,
            max: MAX_LIST_CHARS,
        });
    }
    Ok(())
}

/// Why a version was saved, bounded.
pub fn check_note(note: &str) -> Result<String, PostListError> {
    let note = note.trim();
    let n = note.chars().count();
    if n > MAX_NOTE_CHARS {
        return Err(PostListError::TooLong {
            what: "the note (修改说明)".into(),
            chars: n,
            max: MAX_NOTE_CHARS,
        });
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(PostListError::BadNote);
    }
    Ok(note.to_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum PostListError {
    /// No such unit, or not the caller's to see.
    #[error("no unit {0}; see `jishi admin list-units`")]
    NoUnit(String),
    #[error("{0}")]
    BadPost(String),
    #[error("the kind {0:?} is neither power (权力清单) nor duty (责任清单)")]
    BadKind(String),
    #[error("line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    #[error("{0} entries; a list has at most {MAX_ENTRIES}: split the post's list, or keep the main ones")]
    TooMany(usize),
    #[error("{what} has {chars} characters, more than the {max} allowed; shorten it")]
    TooLong {
        what: String,
        chars: usize,
        max: usize,
    },
    #[error("line {line}: the {field} ({zh}) has {chars} characters, more than the {max} allowed; shorten it")]
    FieldTooLong {
        line: usize,
        field: &'static str,
        zh: &'static str,
        chars: usize,
        max: usize,
    },
    /// An empty version withdraws a list: it says why.
    #[error("an empty list withdraws the post's list: give the reason as the note")]
    WithdrawWithoutNote,
    #[error("the post has no list of this kind in force: there is nothing to withdraw; give at least one entry")]
    NothingToWithdraw,
    #[error("the note has control characters; write it as plain text")]
    BadNote,
    /// Someone saved the list while this one was edited.
    #[error("the list is at version {current} now, not {expected} as when it was opened for editing; read the current version and save again")]
    Stale { expected: i64, current: i64 },
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PostListError {
    /// The refusal in Chinese, for the web pages; `None` for what is not
    /// the person's to fix.
    pub fn zh(&self) -> Option<String> {
        Some(match self {
            PostListError::NoUnit(u) => format!("没有编码为 {u} 的单位。"),
            PostListError::BadPost(_) => format!(
                "请填写岗位（职务）名称：一行，不超过 {MAX_POST_CHARS} 字。"
            ),
            PostListError::BadKind(_) => "清单类别应为权力清单或责任清单。".into(),
            PostListError::BadLine { line, reason } => {
                if reason.contains("fields") {
                    format!("第 {line} 行分隔符“｜”过多：每行最多三项，即 事项｜依据｜说明。")
                } else if reason.contains("no 事项") {
                    format!("第 {line} 行没有事项名称：请在第一个“｜”之前写明事项。")
                } else {
                    format!("第 {line} 行含有不可见的控制字符，请删去后再保存。")
                }
            }
            PostListError::TooMany(n) => {
                format!("共 {n} 条，超过每份清单最多 {MAX_ENTRIES} 条的限制；请精简或拆分。")
            }
            PostListError::FieldTooLong {
                line,
                zh,
                chars,
                max,
                ..
            } => format!("第 {line} 行的{zh}有 {chars} 字，超过 {max} 字的限制，请精简。"),
            PostListError::TooLong { what, chars, max } => {
                let what = if what.starts_with("the post") {
                    "岗位名称"
                } else if what.starts_with("the note") {
                    "修改说明"
                } else {
                    "整份清单"
                };
                format!("{what}有 {chars} 字，超过 {max} 字的限制，请精简。")
            }
            PostListError::WithdrawWithoutNote => {
                "清单内容为空即撤销该清单：请在“修改说明”中写明撤销原因。".into()
            }
            PostListError::NothingToWithdraw => {
                "该岗位目前没有这类清单，无需撤销；请至少填写一条事项。".into()
            }
            PostListError::BadNote => "修改说明含有控制字符，请用普通文字填写。".into(),
            PostListError::Stale { expected, current } => format!(
                "您打开编辑时清单是第 {expected} 版，其间已有人保存了第 {current} 版。您填写的内容保留在下面，未保存；请查看历史版本核对后再保存。"
            ),
            PostListError::Forbidden(m) => m.clone(),
            PostListError::Access(_) | PostListError::Store(_) => return None,
        })
    }
}

impl IntoProblem for PostListError {
    fn into_problem(self) -> Problem {
        let invalid = |code, e: &PostListError| Problem::Invalid {
            code,
            message: e.to_string(),
        };
        match self {
            PostListError::NoUnit(_) => Problem::NotFound,
            e @ PostListError::BadPost(_) => invalid("bad_post", &e),
            e @ PostListError::BadKind(_) => invalid("bad_kind", &e),
            e @ PostListError::BadLine { .. } => invalid("bad_entry", &e),
            e @ PostListError::TooMany(_) => invalid("too_many_entries", &e),
            e @ (PostListError::TooLong { .. } | PostListError::FieldTooLong { .. }) => {
                invalid("too_long", &e)
            }
            e @ PostListError::BadNote => invalid("bad_note", &e),
            e @ PostListError::WithdrawWithoutNote => invalid("withdraw_without_note", &e),
            e @ PostListError::NothingToWithdraw => invalid("nothing_to_withdraw", &e),
            e @ PostListError::Stale { .. } => Problem::Conflict {
                code: "stale_version",
                message: e.to_string(),
            },
            PostListError::Forbidden(m) => Problem::Forbidden(m),
            PostListError::Access(e) => e.into_problem(),
            PostListError::Store(e) => e.into_problem(),
        }
    }
}

crate::edge_error!(PostListError);

/// One version of a list, as the pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostList {
    /// 岗位 (职务).
    pub post: String,
    pub kind: ListKind,
    /// 1, 2, 3 … per unit, post and kind.
    pub version: i64,
    /// When it was saved, ms since the epoch.
    pub saved_at: i64,
    /// The admin who saved it (a user id); empty when it was saved with
    /// the command line without `--by`.
    pub saved_by: String,
    /// `web` or `cli`.
    pub via: String,
    /// Why it was saved (may be empty).
    pub note: String,
    /// In order; none: this version withdrew the list.
    pub entries: Vec<Entry>,
}

impl From<PostListEntryRow> for Entry {
    fn from(e: PostListEntryRow) -> Self {
        Entry {
            title: e.title,
            basis: e.basis,
            detail: e.detail,
        }
    }
}

impl PostList {
    fn from_row(r: PostListRow) -> Option<PostList> {
        Some(PostList {
            kind: ListKind::parse(&r.kind).ok()?,
            post: r.post,
            version: r.version,
            saved_at: r.saved_at,
            saved_by: r.saved_by,
            via: r.via,
            note: r.note,
            entries: r.entries.into_iter().map(Entry::from).collect(),
        })
    }

    /// This version withdrew the list.
    pub fn withdrawn(&self) -> bool {
        self.entries.is_empty()
    }

    /// `2026年11月23日`, in China time.
    pub fn saved_on(&self) -> String {
        crate::china::at_ms(self.saved_at)
            .map(|t| t.format("%Y年%-m月%-d日").to_string())
            .unwrap_or_default()
    }
}

/// Who saves a version.
#[derive(Debug, Clone, Copy)]
pub enum Saver<'a> {
    /// An admin on the web pages (their scope is checked by the caller:
    /// [`editable_unit`]).
    Web(&'a User),
    /// `jishi admin post-list set`, naming the admin if `--by` was given.
    Cli(Option<&'a str>),
}

/// What to save: a new version of (unit, post, kind).
#[derive(Debug, Clone)]
pub struct SaveRequest<'a> {
    pub unit_id: &'a str,
    pub post: &'a PostName,
    pub kind: ListKind,
    /// In order; none withdraws the list (the note then says why).
    pub entries: &'a [Entry],
    pub note: &'a str,
    /// The version the editor started from (0: none); the save is refused
    /// as [`PostListError::Stale`] if another was saved meanwhile. `None`
    /// saves after whatever is there (the command line).
    pub based_on: Option<i64>,
}

/// Save a new version of a list; bounds checked, the unit must exist.
pub async fn save(
    store: &Store,
    req: &SaveRequest<'_>,
    saver: Saver<'_>,
) -> Result<PostList, PostListError> {
    check_entries(req.entries)?;
    let note = check_note(req.note)?;
    if store.unit(req.unit_id).await?.is_none() {
        return Err(PostListError::NoUnit(req.unit_id.to_owned()));
    }
    if req.entries.is_empty() {
        if note.is_empty() {
            return Err(PostListError::WithdrawWithoutNote);
        }
        let in_force = current_for_post(store, req.unit_id, req.post.as_str()).await?;
        let list = match req.kind {
            ListKind::Power => in_force.power,
            ListKind::Duty => in_force.duty,
        };
        if list.is_none() {
            return Err(PostListError::NothingToWithdraw);
        }
    }
    let (saved_by, via) = match saver {
        Saver::Web(u) => (u.id.as_str(), "web"),
        Saver::Cli(by) => (by.unwrap_or(""), "cli"),
    };
    let entries: Vec<PostListEntryRow> = req
        .entries
        .iter()
        .map(|e| PostListEntryRow {
            title: e.title.trim().to_owned(),
            basis: e.basis.trim().to_owned(),
            detail: e.detail.trim().to_owned(),
        })
        .collect();
    let new = NewPostListVersion {
        unit_id: req.unit_id,
        post: req.post.as_str(),
        kind: req.kind.as_str(),
        note: &note,
        saved_by,
        via,
        entries: &entries,
    };
    match store.save_post_list(&new, req.based_on).await? {
        PostListSave::Saved { version, saved_at } => Ok(PostList {
            post: req.post.as_str().to_owned(),
            kind: req.kind,
            version,
            saved_at,
            saved_by: saved_by.to_owned(),
            via: via.to_owned(),
            note,
            entries: entries.into_iter().map(Entry::from).collect(),
        }),
        PostListSave::Stale { expected, current } => {
            Err(PostListError::Stale { expected, current })
        }
    }
}

/// The current lists of a unit that are in force (withdrawn ones left
/// out), by post then kind: what the public board and the API show.
pub async fn unit_lists(store: &Store, unit_id: &str) -> Result<Vec<PostList>, PostListError> {
    let mut lists: Vec<PostList> = store
        .current_post_lists(unit_id, None)
        .await?
        .into_iter()
        .filter_map(PostList::from_row)
        .filter(|l| !l.withdrawn())
        .collect();
    // Here, not in SQL: the same order on both databases, whatever
    // PostgreSQL's collation.
    lists.sort_by(|a, b| (&a.post, a.kind).cmp(&(&b.post, b.kind)));
    Ok(lists)
}

/// A post's current lists in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CurrentLists {
    pub power: Option<PostList>,
    pub duty: Option<PostList>,
}

/// The current 权力清单 and 责任清单 of one post of a unit, if in force:
/// what a cadre's card shows beside their post.
pub async fn current_for_post(
    store: &Store,
    unit_id: &str,
    post: &str,
) -> Result<CurrentLists, PostListError> {
    let mut out = CurrentLists::default();
    let Ok(post) = PostName::parse(post) else {
        return Ok(out);
    };
    for l in store
        .current_post_lists(unit_id, Some(post.as_str()))
        .await?
        .into_iter()
        .filter_map(PostList::from_row)
        .filter(|l| !l.withdrawn())
    {
        match l.kind {
            ListKind::Power => out.power = Some(l),
            ListKind::Duty => out.duty = Some(l),
        }
    }
    Ok(out)
}

/// One post's lists in force on a public notice board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardPost {
    /// The unit's name when it is not the board's own (a village of the
    /// township), else empty.
    pub unit_name: String,
    pub post: String,
    /// Power before duty.
    pub lists: Vec<PostList>,
}

/// The lists in force shown on `board`'s public page: its own, then those
/// of the units whose notices it publishes (its villages and offices, not
/// a township or department under it, which has its own board).
pub async fn board_lists(store: &Store, board: &Unit) -> Result<Vec<BoardPost>, PostListError> {
    let units = store.units().await?;
    let mut out = Vec::new();
    for u in units
        .iter()
        .filter(|u| u.path.starts_with(board.path.as_str()))
    {
        let mut between = u.path[board.path.len()..]
            .split('/')
            .filter(|s| !s.is_empty());
        let own_board = between.any(|id| {
            units
                .iter()
                .any(|x| x.id == id && matches!(x.level.as_str(), "township" | "department"))
        });
        if own_board {
            continue;
        }
        let unit_name = if u.id == board.id {
            String::new()
        } else {
            u.name.clone()
        };
        for l in unit_lists(store, &u.id).await? {
            match out.last_mut() {
                Some(BoardPost {
                    unit_name: n,
                    post,
                    lists,
                }) if *n == unit_name && *post == l.post => lists.push(l),
                _ => out.push(BoardPost {
                    unit_name: unit_name.clone(),
                    post: l.post.clone(),
                    lists: vec![l],
                }),
            }
        }
    }
    Ok(out)
}

/// One post of a unit on the admins' page.
#[derive(Debug, Clone)]
pub struct PostOverview {
    pub post: String,
    /// Who holds it in the unit, by name.
    pub holders: Vec<String>,
    /// The current versions, withdrawn ones included.
    pub power: Option<PostList>,
    pub duty: Option<PostList>,
}

/// Every post of a unit: those its people hold and those with a list.
pub async fn overview(store: &Store, unit_id: &str) -> Result<Vec<PostOverview>, PostListError> {
    let posts = store.unit_posts(unit_id).await?;
    let mut lists = store
        .current_post_lists(unit_id, None)
        .await?
        .into_iter()
        .filter_map(PostList::from_row)
        .collect::<Vec<_>>();
    let mut out = Vec::new();
    for (post, holders) in posts {
        let mut take = |kind| {
            lists
                .iter()
                .position(|l| l.post == post && l.kind == kind)
                .map(|i| lists.swap_remove(i))
        };
        let (power, duty) = (take(ListKind::Power), take(ListKind::Duty));
        out.push(PostOverview {
            post,
            holders,
            power,
            duty,
        });
    }
    Ok(out)
}

/// Every version of one list, newest first.
pub async fn history(
    store: &Store,
    unit_id: &str,
    post: &PostName,
    kind: ListKind,
) -> Result<Vec<PostList>, PostListError> {
    Ok(store
        .post_list_history(unit_id, post.as_str(), kind.as_str())
        .await?
        .into_iter()
        .filter_map(PostList::from_row)
        .collect())
}

/// The unit, if `user` may change its lists: an admin whose scope covers
/// it. Anyone else is refused; a unit outside the scope is answered as
/// one that does not exist.
pub async fn editable_unit(
    store: &Store,
    user: &User,
    unit_id: &str,
) -> Result<Unit, PostListError> {
    if user.role != Role::Admin {
        return Err(PostListError::Forbidden(
            "only admins keep the posts' lists of powers and responsibilities".into(),
        ));
    }
    overseen_unit(store, user, unit_id).await
}

/// The unit, if it is inside the subtree `user` oversees.
pub async fn overseen_unit(
    store: &Store,
    user: &User,
    unit_id: &str,
) -> Result<Unit, PostListError> {
    let missing = || PostListError::NoUnit(unit_id.to_owned());
    let over = match (user.role, &user.scope_unit_id) {
        (Role::Cadre, _) | (_, None) => false,
        (_, Some(scope)) => store.unit_in_scope(unit_id, scope).await?,
    };
    if !over {
        return Err(missing());
    }
    store.unit(unit_id).await?.ok_or_else(missing)
}

/// The unit, if `user` may read its lists over the API: those who oversee
/// it, and its own members up to their township (as the month's results,
/// [`crate::reviews::member_sees`]).
pub async fn readable_unit(
    store: &Store,
    user: &User,
    unit_id: &str,
) -> Result<Unit, PostListError> {
    match overseen_unit(store, user, unit_id).await {
        Err(PostListError::NoUnit(_)) => {}
        other => return other,
    }
    let chain = store.unit_chain(&user.unit_id).await?;
    if crate::reviews::member_sees(&chain, unit_id) {
        if let Some(u) = chain.into_iter().find(|u| u.id == unit_id) {
            return Ok(u);
        }
    }
    Err(PostListError::NoUnit(unit_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(title: &str, basis: &str, detail: &str) -> Entry {
        Entry {
            title: title.into(),
            basis: basis.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn kinds_parse_from_their_names_in_both_languages() {
        for k in ListKind::ALL {
            assert_eq!(ListKind::parse(k.as_str()).unwrap(), k);
            assert_eq!(ListKind::parse(k.zh()).unwrap(), k);
        }
        assert!(matches!(
            ListKind::parse("powers"),
            Err(PostListError::BadKind(_))
        ));
    }

    #[test]
    fn entries_are_one_per_line_with_any_of_the_three_separators() {
        let text = "\u{feff}组织召开党委会议｜《中国共产党农村基层组织工作条例》｜每月至少一次\n\
                    \n\
                    审批村级小额工程|镇政府文件\n\
                    安全生产检查\t《安全生产法》\t每季度\r\n\
                    信访接待  \n";
        assert_eq!(
            parse_entries(text).unwrap(),
            vec![
                entry(
                    "组织召开党委会议",
                    "《中国共产党农村基层组织工作条例》",
                    "每月至少一次"
                ),
                entry("审批村级小额工程", "镇政府文件", ""),
                entry("安全生产检查", "《安全生产法》", "每季度"),
                entry("信访接待", "", ""),
            ]
        );
        assert_eq!(parse_entries("\n  \n").unwrap(), vec![], "empty: withdraw");
    }

    #[test]
    fn a_bad_line_is_named_with_what_to_fix() {
        let e = parse_entries("甲｜乙\n｜依据\n").unwrap_err();
        assert!(matches!(e, PostListError::BadLine { line: 2, .. }), "{e}");
        assert!(e.to_string().contains("no 事项"), "{e}");
        assert!(e.zh().unwrap().contains("第 2 行"));
        let e = parse_entries("甲｜乙｜丙｜丁").unwrap_err();
        assert!(e.to_string().contains("at most three"), "{e}");
        let e = parse_entries("甲\n监督电话｜\u{202E}0987-654321").unwrap_err();
        assert!(matches!(e, PostListError::BadLine { line: 2, .. }), "{e}");
        assert!(e.to_string().contains("text-direction"), "{e}");
    }

    #[test]
    fn leading_numbers_are_dropped_but_not_decimals_or_years() {
        assert_eq!(strip_number("1. 召开会议"), " 召开会议");
        assert_eq!(strip_number("12、审批"), "审批");
        assert_eq!(strip_number("（3）检查"), "检查");
        assert_eq!(strip_number("(4)检查"), "检查");
        assert_eq!(strip_number("5）检查"), "检查");
        assert_eq!(strip_number("1.5亩以下用地审核"), "1.5亩以下用地审核");
        assert_eq!(strip_number("2024年度考核"), "2024年度考核");
        assert_eq!(strip_number("1234. 过长的编号"), "1234. 过长的编号");
        assert_eq!(strip_number("3."), "3.", "nothing after the number");
    }

    #[test]
    fn bounds_are_checked() {
        let many = "事项\n".repeat(MAX_ENTRIES + 1);
        assert!(matches!(
            parse_entries(&many),
            Err(PostListError::TooMany(n)) if n == MAX_ENTRIES + 1
        ));
        assert_eq!(
            parse_entries(&"事项\n".repeat(MAX_ENTRIES)).unwrap().len(),
            MAX_ENTRIES
        );
        let long = "长".repeat(MAX_TITLE_CHARS + 1);
        let e = parse_entries(&format!("短\n{long}")).unwrap_err();
        assert!(
            matches!(
                &e,
                PostListError::FieldTooLong {
                    line: 2,
                    field: "title",
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.zh().unwrap(),
            "第 2 行的事项有 201 字，超过 200 字的限制，请精简。"
        );
        let e =
            parse_entries(&format!("\n\n短｜{}", "长".repeat(MAX_BASIS_CHARS + 1))).unwrap_err();
        assert!(e.to_string().starts_with("line 3: the basis (依据)"), "{e}");
        let e = check_entries(&[entry("甲", "", "x\u{7}")]).unwrap_err();
        assert!(matches!(e, PostListError::BadLine { line: 1, .. }), "{e}");
        assert!(matches!(
            PostName::parse("  "),
            Err(PostListError::BadPost(_))
        ));
        assert!(matches!(
            PostName::parse("党委\n书记"),
            Err(PostListError::BadPost(_))
        ));
        assert!(matches!(
            PostName::parse(&"长".repeat(MAX_POST_CHARS + 1)),
            Err(PostListError::TooLong { .. })
        ));
        assert_eq!(PostName::parse(" 党委书记 ").unwrap().as_str(), "党委书记");
        assert!(check_note(&"长".repeat(MAX_NOTE_CHARS + 1)).is_err());
    }

    #[test]
    fn the_edit_text_reads_back_as_the_entries() {
        let entries = vec![
            entry("甲", "", ""),
            entry("乙", "依据", ""),
            entry("丙", "", "说明"),
            entry("丁", "依据", "说明"),
        ];
        assert_eq!(parse_entries(&entries_text(&entries)).unwrap(), entries);
    }
}

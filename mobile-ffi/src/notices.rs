//! The notices (公示) of the cadre's township, as the notice board shows
//! them: the list, and one weekly notice's summary table with its status
//! (current, corrected, withdrawn) and versions. Read from the public
//! pages' JSON with the library's session; nothing is kept on the phone.

use std::sync::Arc;

use serde::Deserialize;

use crate::cancel::{off_thread, Cancel, CancelToken};
use crate::client::{call_cancel, JishiClient};
use crate::error::JishiError;
use crate::reads::{bad_reply, unit_id_of};

/// The notices that cover a unit: its township's (or department's) board.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, uniffi::Record)]
pub struct NoticeBoard {
    /// The unit that publishes them (a village's township).
    pub unit_id: String,
    pub unit_name: String,
    /// Newest first.
    pub notices: Vec<NoticeItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, uniffi::Record)]
pub struct NoticeItem {
    pub title: String,
    /// The notice's key: `2026-W47` for a weekly notice (what `notice`
    /// takes), `2026-12-start` or `2026-11-end` for a month's (what
    /// `month_notice` takes).
    pub week: String,
    /// `week`, `month_start` (月初晒承诺) or `month_end` (月底公示).
    #[serde(default = "week_kind")]
    pub kind: String,
    /// What its current version did: `publish`, `correct` (更正) or
    /// `withdraw` (撤回).
    pub status: String,
}

/// One weekly notice (周公示) as it stands.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NoticeView {
    pub unit_id: String,
    pub unit_name: String,
    pub week: String,
    pub title: String,
    /// `published`, or `withdrawn` (then `cadres` is empty and
    /// `withdrawal_reason` says why).
    pub status: String,
    /// The version shown; 1 unless corrected.
    pub version: i64,
    /// ms since the epoch; none for a withdrawal.
    pub published_at: Option<i64>,
    /// The leader who approved it (审核人), when the unit publishes on
    /// approval.
    pub approved_by: Option<String>,
    pub withdrawal_reason: Option<String>,
    /// One row per cadre, as the summary table.
    pub cadres: Vec<NoticeCadre>,
    /// Every version, oldest first.
    pub versions: Vec<NoticeVersion>,
    /// Days edited after this version was published (公示后有修改).
    pub amended_days: Vec<String>,
    /// The public page, to share: `/p/{unit}/{week}` on the server.
    pub page_path: String,
}

/// A cadre's row of a weekly notice's summary table.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NoticeCadre {
    pub user_id: String,
    pub name: String,
    /// 职务.
    pub post: String,
    pub days_due: u32,
    pub days_filed: u32,
    pub days_missed: u32,
    pub entries: u32,
    pub households: u64,
    /// 夜学, 夜访, 夜议, 夜帮.
    pub night_study: u32,
    pub night_visit: u32,
    pub night_discussion: u32,
    pub night_help: u32,
    pub nights_stayed: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, uniffi::Record)]
pub struct NoticeVersion {
    pub version: i64,
    /// `publish`, `correct` or `withdraw`.
    pub action: String,
    pub reason: String,
    /// Who approved, corrected or withdrew it (a name; empty when it
    /// published by itself).
    pub by: String,
    /// ms since the epoch.
    pub at: i64,
    pub current: bool,
}

#[derive(Deserialize)]
struct Wire {
    unit_id: String,
    #[serde(default)]
    unit_name: String,
    week: String,
    title: String,
    status: String,
    version: i64,
    #[serde(default)]
    published_at: Option<i64>,
    #[serde(default)]
    approved_by: Option<String>,
    #[serde(default)]
    withdrawal: Option<Withdrawal>,
    #[serde(default)]
    cadres: Vec<WireCadre>,
    #[serde(default)]
    versions: Vec<NoticeVersion>,
    #[serde(default)]
    amended_days: Vec<String>,
}

#[derive(Deserialize)]
struct Withdrawal {
    reason: String,
}

#[derive(Deserialize)]
struct WireCadre {
    user_id: String,
    name: String,
    #[serde(default)]
    post: String,
    #[serde(default)]
    summary: Summary,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Summary {
    days_due: u32,
    days_filed: u32,
    days_missed: u32,
    entries: u32,
    households: u64,
    nights: Nights,
    nights_stayed: u32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Nights {
    study: u32,
    visit: u32,
    discussion: u32,
    help: u32,
}

fn week_kind() -> String {
    "week".to_owned()
}

/// A month notice (月初晒承诺 or 月底公示) as it stands.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MonthNoticeView {
    pub unit_id: String,
    pub unit_name: String,
    /// `2026-11-end`.
    pub key: String,
    /// `start` (the month's commitments) or `end` (their 销号 and the
    /// month's review results); empty for a withdrawal.
    pub part: String,
    pub title: String,
    /// `published`, or `withdrawn` (then `cadres` is empty and
    /// `withdrawal_reason` says why).
    pub status: String,
    pub version: i64,
    pub published_at: Option<i64>,
    pub approved_by: Option<String>,
    pub withdrawal_reason: Option<String>,
    pub cadres: Vec<MonthNoticeCadre>,
    pub versions: Vec<NoticeVersion>,
    /// The public page: `/p/{unit}/{key}` on the server.
    pub page_path: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, uniffi::Record)]
pub struct MonthNoticeCadre {
    pub user_id: String,
    pub name: String,
    #[serde(default)]
    pub post: String,
    #[serde(default)]
    pub commitments: Vec<MonthCommitment>,
    /// 月小结 (month-end).
    #[serde(default)]
    pub summary: String,
    /// The 月点评 result (month-end, once the review deadline has passed).
    #[serde(default)]
    pub result: Option<MonthResult>,
}

/// One commitment, as a clause of the notice.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MonthCommitment {
    pub title: String,
    /// `fixed` (固定任务) or `dynamic` (动态任务).
    pub kind: String,
    /// `2026-11-20`.
    pub due: Option<String>,
    /// `open`, `done`, `not_done`, `overdue` or `dropped`.
    pub status: String,
    pub note: String,
    /// Month-end: what changed after the month-start notice: `added`,
    /// `edited` (then `was` is the clause as published) or `dropped`.
    pub change: Option<String>,
    pub was: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, uniffi::Record)]
pub struct MonthResult {
    /// None while unreviewed.
    pub total: Option<i64>,
    pub rank: Option<u32>,
    pub ranked_of: u32,
    pub group: String,
    /// 末位.
    pub bottom: bool,
    pub comment: String,
    pub reviewer: String,
    pub late: bool,
    pub statement: Option<String>,
}

#[derive(Deserialize)]
struct WireChange {
    kind: String,
    #[serde(default)]
    was: Option<String>,
}

#[derive(Deserialize)]
struct WireCommitment {
    title: String,
    kind: String,
    #[serde(default)]
    due: Option<String>,
    status: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    change: Option<WireChange>,
}

impl<'de> Deserialize<'de> for MonthCommitment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireCommitment::deserialize(d)?;
        let (change, was) = match w.change {
            Some(c) => (Some(c.kind), c.was),
            None => (None, None),
        };
        Ok(MonthCommitment {
            title: w.title,
            kind: w.kind,
            due: w.due,
            status: w.status,
            note: w.note,
            change,
            was,
        })
    }
}

#[derive(Deserialize)]
struct MonthWire {
    unit_id: String,
    #[serde(default)]
    unit_name: String,
    week: String,
    #[serde(default)]
    part: String,
    title: String,
    status: String,
    version: i64,
    #[serde(default)]
    published_at: Option<i64>,
    #[serde(default)]
    approved_by: Option<String>,
    #[serde(default)]
    withdrawal: Option<Withdrawal>,
    #[serde(default)]
    cadres: Vec<MonthNoticeCadre>,
    #[serde(default)]
    versions: Vec<NoticeVersion>,
}

/// `key` if it reads as a month notice's (`2026-11-start`, `2026-11-end`);
/// it goes into a path.
fn month_key_of(key: &str) -> Result<&str, JishiError> {
    let ok = match key.split_once('-').and_then(|(y, rest)| {
        let (m, part) = rest.split_once('-')?;
        Some((y, m, part))
    }) {
        Some((y, m, part)) => {
            y.len() == 4
                && y.bytes().all(|b| b.is_ascii_digit())
                && m.len() == 2
                && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
                && matches!(part, "start" | "end")
        }
        None => false,
    };
    if ok {
        Ok(key)
    } else {
        Err(JishiError::invalid_as(
            "key",
            "format",
            format!("{key:?} is not a month notice (2026-11-start, 2026-11-end)"),
        ))
    }
}

/// `week` if it reads as an ISO week (`2026-W47`); it goes into a path.
fn week_of(week: &str) -> Result<&str, JishiError> {
    let ok = week.len() == 8
        && week.as_bytes()[4] == b'-'
        && week.as_bytes()[5] == b'W'
        && week[..4].bytes().all(|b| b.is_ascii_digit())
        && week[6..].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(week)
    } else {
        Err(JishiError::invalid_as(
            "week",
            "format",
            format!("{week:?} is not a week (2026-W47)"),
        ))
    }
}

impl JishiClient {
    fn notice_board_now(
        &self,
        cancel: &Arc<Cancel>,
        unit_id: Option<&str>,
    ) -> Result<NoticeBoard, JishiError> {
        let unit = match unit_id {
            Some(u) => unit_id_of(u)?.to_owned(),
            None => self.profile_now(cancel)?.unit_id,
        };
        let body = self.read_now(cancel, &format!("/api/v1/publications/{unit}"))?;
        serde_json::from_slice(&body).map_err(|e| bad_reply("notice board", e))
    }

    fn notice_now(
        &self,
        cancel: &Arc<Cancel>,
        unit_id: &str,
        week: &str,
    ) -> Result<NoticeView, JishiError> {
        let (unit, week) = (unit_id_of(unit_id)?, week_of(week)?);
        let body = self.read_now(cancel, &format!("/api/v1/publications/{unit}/{week}"))?;
        let w: Wire = serde_json::from_slice(&body).map_err(|e| bad_reply("notice", e))?;
        Ok(NoticeView {
            page_path: format!("/p/{}/{}", w.unit_id, w.week),
            unit_id: w.unit_id,
            unit_name: w.unit_name,
            week: w.week,
            title: w.title,
            status: w.status,
            version: w.version,
            published_at: w.published_at,
            approved_by: w.approved_by,
            withdrawal_reason: w.withdrawal.map(|x| x.reason),
            cadres: w
                .cadres
                .into_iter()
                .map(|c| NoticeCadre {
                    user_id: c.user_id,
                    name: c.name,
                    post: c.post,
                    days_due: c.summary.days_due,
                    days_filed: c.summary.days_filed,
                    days_missed: c.summary.days_missed,
                    entries: c.summary.entries,
                    households: c.summary.households,
                    night_study: c.summary.nights.study,
                    night_visit: c.summary.nights.visit,
                    night_discussion: c.summary.nights.discussion,
                    night_help: c.summary.nights.help,
                    nights_stayed: c.summary.nights_stayed,
                })
                .collect(),
            versions: w.versions,
            amended_days: w.amended_days,
        })
    }
}

impl JishiClient {
    fn month_notice_now(
        &self,
        cancel: &Arc<Cancel>,
        unit_id: &str,
        key: &str,
    ) -> Result<MonthNoticeView, JishiError> {
        let (unit, key) = (unit_id_of(unit_id)?, month_key_of(key)?);
        let body = self.read_now(cancel, &format!("/api/v1/publications/{unit}/{key}"))?;
        let w: MonthWire =
            serde_json::from_slice(&body).map_err(|e| bad_reply("month notice", e))?;
        Ok(MonthNoticeView {
            page_path: format!("/p/{}/{}", w.unit_id, w.week),
            unit_id: w.unit_id,
            unit_name: w.unit_name,
            key: w.week,
            part: w.part,
            title: w.title,
            status: w.status,
            version: w.version,
            published_at: w.published_at,
            approved_by: w.approved_by,
            withdrawal_reason: w.withdrawal.map(|x| x.reason),
            cadres: w.cadres,
            versions: w.versions,
        })
    }
}

#[uniffi::export]
impl JishiClient {
    /// One month notice of a board (`unit_id` from `notice_board`, `key`
    /// as `2026-11-start` or `2026-11-end`) as it stands: every cadre's
    /// commitments (at the month's end with their 销号 and what changed
    /// after the month-start notice), 月小结 and review result, its status
    /// and versions. One never published is `Validation(field = "path",
    /// code = "not_found")`.
    #[uniffi::method(default(cancel = None))]
    pub async fn month_notice(
        self: Arc<Self>,
        unit_id: String,
        key: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<MonthNoticeView, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.month_notice_now(&c, &unit_id, &key)).await
    }

    /// The notice board that covers `unit_id` (the cadre's own unit by
    /// default; a village's notices are its township's): every weekly
    /// notice, newest first. A unit with none above it that publishes (a
    /// county) is `Validation(field = "path", code = "not_found")`.
    #[uniffi::method(default(unit_id = None, cancel = None))]
    pub async fn notice_board(
        self: Arc<Self>,
        unit_id: Option<String>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<NoticeBoard, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.notice_board_now(&c, unit_id.as_deref())).await
    }

    /// One weekly notice of a board (`unit_id` from `notice_board`, `week`
    /// as `2026-W47`) as it stands: its summary table, status and versions.
    /// One never published is `Validation(field = "path", code =
    /// "not_found")`.
    #[uniffi::method(default(cancel = None))]
    pub async fn notice(
        self: Arc<Self>,
        unit_id: String,
        week: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<NoticeView, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.notice_now(&c, &unit_id, &week)).await
    }
}

#[cfg(test)]
mod tests {
    use super::week_of;

    #[test]
    fn only_weeks_go_into_the_path() {
        assert!(week_of("2026-W47").is_ok());
        for bad in ["2026-47", "2026-W4", "2026-W47/../x", "abcd-W12", ""] {
            assert!(week_of(bad).is_err(), "{bad}");
        }
    }
}

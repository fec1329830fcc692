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
    /// `2026-W47`: what `notice` takes.
    pub week: String,
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

#[uniffi::export]
impl JishiClient {
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

//! Reads the screens need from the server, beyond the records the phone
//! keeps: the cadre's profile, their monthly review result, and any other
//! read of the API (`server_get`) with the library's session, so the app
//! never handles a token. Each is one authenticated `GET`, renewed once on
//! 401; offline they fail with `Offline` (nothing here is kept on the phone).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cancel::{off_thread, Cancel, CancelToken};
use crate::client::{call_cancel, from_http, JishiClient};
use crate::error::JishiError;
use crate::http::HttpError;

/// The largest answer a read takes (a unit's month of a large township is
/// a few hundred KiB).
const MAX_READ_BYTES: u64 = 8 * 1024 * 1024;

/// Who is logged in, as the server knows them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, uniffi::Record)]
pub struct Profile {
    #[serde(rename = "id")]
    pub user_id: String,
    pub name: String,
    /// `cadre`, `leader`, `supervisor` or `admin`.
    pub role: String,
    pub unit_id: String,
    /// 职务, e.g. 驻村第一书记.
    #[serde(default)]
    pub post: String,
    /// 职责.
    #[serde(default)]
    pub duties: String,
    #[serde(default)]
    pub phone: String,
}

/// The cadre's monthly review (月点评) as their unit sees it once the
/// deadline has passed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReviewResult {
    pub month: String,
    pub unit_name: String,
    /// The deadline passed and the unit's results are published.
    pub published: bool,
    /// Scores, when reviewed: 工作目标 and 作风表现, and their total.
    pub targets: Option<i64>,
    pub conduct: Option<i64>,
    pub total: Option<i64>,
    /// The reviewer's words.
    pub comment: Option<String>,
    /// 1 for the highest total; ties share a rank.
    pub rank: Option<u32>,
    /// How many in the cadre's group were reviewed.
    pub ranked_of: u32,
    /// The group the rank is within (一般干部, 班子成员, 主要负责人; on a unit
    /// above a township, after the township's name).
    pub group: String,
    /// 末位: in the bottom two ranks of the group.
    pub bottom: bool,
    /// The 表态 of a 末位 cadre, once made (`submit_statement`).
    pub statement: Option<String>,
}

/// A person the phone's screens name: the cadre, the people whose records
/// they read, and the leaders and supervisors who read theirs (who write
/// the comments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct PersonView {
    #[serde(rename = "id")]
    pub user_id: String,
    pub name: String,
    pub role: String,
    pub unit_id: String,
    pub unit_name: String,
    /// 职务.
    #[serde(default)]
    pub post: String,
}

#[derive(Deserialize)]
struct People {
    people: Vec<PersonView>,
}

/// One cadre's filing figures over a range of days, as a leader's screen
/// of a unit shows them (`unit_filing`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, uniffi::Record)]
pub struct FilingRowView {
    pub user_id: String,
    pub name: String,
    pub unit_id: String,
    /// Days with a diary or night log that has something in it.
    pub days_filed: i64,
    /// Diary entries.
    pub entries: i64,
    /// Night activities (四夜).
    pub night_activities: i64,
    /// Nights stayed in the village (住村).
    pub nights_stayed: i64,
}

/// Where the last list of people is kept, for names offline.
const PEOPLE_KEY: &str = "ffi.people";

#[derive(Deserialize)]
struct UnitMonth {
    unit_name: String,
    month: String,
    published: bool,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    user_id: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    ranked_of: u32,
    #[serde(default)]
    review: Option<Review>,
    #[serde(default)]
    total: Option<i64>,
    #[serde(default)]
    rank: Option<u32>,
    #[serde(default)]
    bottom: bool,
    #[serde(default)]
    statement: Option<StatementWire>,
}

#[derive(Deserialize)]
struct StatementWire {
    text: String,
}

#[derive(Deserialize)]
struct Review {
    targets: i64,
    conduct: i64,
    #[serde(default)]
    comment: String,
}

pub(crate) fn bad_reply(what: &str, e: impl std::fmt::Display) -> JishiError {
    JishiError::other(format!("the server's {what} could not be read: {e}"))
}

/// A path the app may read through `server_get`: the API, nothing else of
/// the server, no other host.
fn api_path(path: &str) -> Result<&str, JishiError> {
    let ok = path.starts_with("/api/v1/")
        && !path.contains("..")
        && !path.contains("//")
        && path.len() <= 1024
        && path.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(path)
    } else {
        Err(JishiError::invalid_as(
            "path",
            "format",
            format!("{path:?} is not a path of the API (it must start with /api/v1/)"),
        ))
    }
}

/// `unit` if it is a unit id (it goes into a path).
pub(crate) fn unit_id_of(unit: &str) -> Result<&str, JishiError> {
    let ok = !unit.is_empty()
        && unit.len() <= 64
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(unit)
    } else {
        Err(JishiError::invalid_as(
            "unit_id",
            "format",
            format!("{unit:?} is not a unit id"),
        ))
    }
}

impl JishiClient {
    /// One authenticated `GET`, the token renewed once if refused.
    pub(crate) fn read_now(&self, cancel: &Arc<Cancel>, path: &str) -> Result<Vec<u8>, JishiError> {
        let token = self.access_token(cancel, false)?;
        let answer = match self.server.get(cancel, &token, path, MAX_READ_BYTES) {
            Err(HttpError::Status { status: 401, .. }) => {
                let token = self.access_token(cancel, true)?;
                self.server.get(cancel, &token, path, MAX_READ_BYTES)
            }
            other => other,
        };
        answer.map_err(|e| match e {
            HttpError::Status {
                status: 404,
                message,
                ..
            } => JishiError::invalid_as("path", "not_found", message),
            other => from_http(other),
        })
    }

    fn review_result_now(
        &self,
        cancel: &Arc<Cancel>,
        month: &str,
        unit_id: Option<&str>,
    ) -> Result<Option<ReviewResult>, JishiError> {
        sync_core::ids::Period::parse_month(month)?;
        let profile = self.profile_now(cancel)?;
        let unit = unit_id_of(unit_id.unwrap_or(&profile.unit_id))?;
        let path = format!("/api/v1/units/{unit}/reviews/{month}");
        let body = match self.read_now(cancel, &path) {
            Ok(b) => b,
            // Not published to the unit yet (before the deadline), or a
            // unit the cadre does not belong to.
            Err(JishiError::Validation { code, .. }) if code == "not_found" => return Ok(None),
            Err(e) => return Err(e),
        };
        let m: UnitMonth = serde_json::from_slice(&body).map_err(|e| bad_reply("review", e))?;
        Ok(m.rows
            .into_iter()
            .find(|r| r.user_id == profile.user_id)
            .map(|r| ReviewResult {
                month: m.month.clone(),
                unit_name: m.unit_name.clone(),
                published: m.published,
                targets: r.review.as_ref().map(|v| v.targets),
                conduct: r.review.as_ref().map(|v| v.conduct),
                total: r.total,
                comment: r.review.map(|v| v.comment),
                rank: r.rank,
                ranked_of: r.ranked_of,
                group: r.group,
                bottom: r.bottom,
                statement: r.statement.map(|s| s.text),
            }))
    }

    fn submit_statement_now(
        &self,
        cancel: &Arc<Cancel>,
        month: &str,
        text: &str,
    ) -> Result<(), JishiError> {
        sync_core::ids::Period::parse_month(month)?;
        let chars = text.trim().chars().count();
        if !(2..=500).contains(&chars) {
            return Err(JishiError::invalid_as(
                "text",
                "length",
                "a statement is 2 to 500 characters",
            ));
        }
        let me = self.profile_now(cancel)?;
        let path = format!("/api/v1/reviews/{month}/{}/statement", me.user_id);
        let body = serde_json::json!({ "text": text });
        let token = self.access_token(cancel, false)?;
        let answer = match self.server.put_json(cancel, &token, &path, &body) {
            Err(HttpError::Status { status: 401, .. }) => {
                let token = self.access_token(cancel, true)?;
                self.server.put_json(cancel, &token, &path, &body)
            }
            other => other,
        };
        answer.map(|_| ()).map_err(from_http)
    }

    fn unit_filing_now(
        &self,
        cancel: &Arc<Cancel>,
        unit_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<FilingRowView>, JishiError> {
        let unit = unit_id_of(unit_id)?;
        let day = |field: &'static str, d: &str| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                JishiError::invalid_as(field, "format", format!("{d:?} is not a day (YYYY-MM-DD)"))
            })
        };
        let (first, last) = (day("from", from)?, day("to", to)?);
        if last < first {
            return Err(JishiError::invalid_as(
                "to",
                "range",
                format!("{to} is before {from}"),
            ));
        }
        let path = format!("/api/v1/units/{unit}/filing?from={first}&to={last}");
        let body = self.read_now(cancel, &path)?;
        serde_json::from_slice(&body).map_err(|e| bad_reply("filing figures", e))
    }

    fn people_now(&self, cancel: &Arc<Cancel>) -> Result<Vec<PersonView>, JishiError> {
        let body = self.read_now(cancel, "/api/v1/people")?;
        let people: People = serde_json::from_slice(&body).map_err(|e| bad_reply("people", e))?;
        let kept = serde_json::to_vec(&people.people).map_err(|e| bad_reply("people", e))?;
        self.replica().set_meta(PEOPLE_KEY, &kept)?;
        Ok(people.people)
    }

    pub(crate) fn profile_now(&self, cancel: &Arc<Cancel>) -> Result<Profile, JishiError> {
        let body = self.read_now(cancel, "/api/v1/me")?;
        serde_json::from_slice(&body).map_err(|e| bad_reply("profile", e))
    }
}

#[uniffi::export]
impl JishiClient {
    /// The logged-in user's profile from the server (name, unit, 职务).
    #[uniffi::method(default(cancel = None))]
    pub async fn profile(
        self: Arc<Self>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Profile, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.profile_now(&c)).await
    }

    /// The logged-in cadre's review of `month` (`YYYY-MM`) as published to
    /// `unit_id` (their own unit by default; a unit above it, up to their
    /// township, ranks them among more people): `None` before the deadline
    /// (not published yet), or when they are not among that unit's people.
    #[uniffi::method(default(unit_id = None, cancel = None))]
    pub async fn review_result(
        self: Arc<Self>,
        month: String,
        unit_id: Option<String>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Option<ReviewResult>, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || {
            self.review_result_now(&c, &month, unit_id.as_deref())
        })
        .await
    }

    /// The logged-in cadre's 表态 on being ranked 末位 in `month`, once the
    /// results are published; made once, never changed. Not 末位, not
    /// published yet, or already made: `Conflict` (`not_bottom`,
    /// `not_published`, `statement_exists`).
    #[uniffi::method(default(cancel = None))]
    pub async fn submit_statement(
        self: Arc<Self>,
        month: String,
        text: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<(), JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.submit_statement_now(&c, &month, &text)).await
    }

    /// Filing figures of every cadre under `unit_id` over the days
    /// `from..=to` (`YYYY-MM-DD`): for a leader's or supervisor's screen of
    /// the units they oversee. A cadre, or a unit outside the caller's
    /// scope, is `Validation(field = "path", code = "not_found")`.
    #[uniffi::method(default(cancel = None))]
    pub async fn unit_filing(
        self: Arc<Self>,
        unit_id: String,
        from: String,
        to: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Vec<FilingRowView>, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.unit_filing_now(&c, &unit_id, &from, &to)).await
    }

    /// The people the screens name (a comment's author, a reviewer, the
    /// people a leader reads), from the server; kept for `known_people`.
    #[uniffi::method(default(cancel = None))]
    pub async fn people(
        self: Arc<Self>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Vec<PersonView>, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.people_now(&c)).await
    }

    /// The people of the last `people()` call, offline (empty before the
    /// first): to show a comment's author by name without a network.
    pub fn known_people(&self) -> Result<Vec<PersonView>, JishiError> {
        crate::error::guard(|| {
            let Some(bytes) = self.replica().meta(PEOPLE_KEY)? else {
                return Ok(Vec::new());
            };
            Ok(serde_json::from_slice(&bytes).unwrap_or_default())
        })
    }

    /// Any read of the server's API (`GET`, a path starting with
    /// `/api/v1/`, see `docs/` and `/api/openapi.json`) with this client's
    /// session: the JSON answer as text. For screens the library has no
    /// typed call for yet (publications); the token never
    /// leaves the library. A 404 is `Validation(field = "path", code =
    /// "not_found")`.
    #[uniffi::method(default(cancel = None))]
    pub async fn server_get(
        self: Arc<Self>,
        path: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<String, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || {
            let body = self.read_now(&c, api_path(&path)?)?;
            String::from_utf8(body).map_err(|e| bad_reply("answer", e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::api_path;

    #[test]
    fn only_paths_of_the_api_are_read() {
        assert!(api_path("/api/v1/me").is_ok());
        assert!(api_path("/api/v1/units/v1/filing?week=2026-W48").is_ok());
        for bad in [
            "/metrics",
            "https://elsewhere/api/v1/me",
            "/api/v1/../metrics",
            "/api/v1//x",
            "/api/v1/me x",
            "api/v1/me",
        ] {
            assert!(api_path(bad).is_err(), "{bad}");
        }
    }
}

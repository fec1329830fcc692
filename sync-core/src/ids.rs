//! Identifiers that anyone can compute: users, document ids, item ids, dates.
//!
//! Every identifier is validated by a `parse` constructor, so a value of these
//! types is always well formed. A document id is `{kind}:{user}:{date}` where
//! the date is `YYYY-MM-DD` for diaries and night logs and `YYYY-MM` for plans.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::validate::{Rule, ValidationError};

/// Longest user id accepted (bytes).
pub const MAX_USER_ID: usize = 64;
/// Longest item id accepted (bytes).
pub const MAX_ITEM_ID: usize = 64;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// A user's stable id, as the server assigns it (never contains `:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.is_empty() || s.len() > MAX_USER_ID || !s.chars().all(is_id_char) {
            return Err(ValidationError::new(
                "user",
                format!("must be 1 to {MAX_USER_ID} characters of A-Z a-z 0-9 _ - ."),
            )
            .broke(Rule::Format));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<UserId> for String {
    fn from(u: UserId) -> String {
        u.0
    }
}
impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of an entry, activity, task or comment inside a document: a random
/// key, so two replicas adding items concurrently never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemId(String);

impl ItemId {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.is_empty() || s.len() > MAX_ITEM_ID || !s.chars().all(is_id_char) {
            return Err(ValidationError::new(
                "id",
                format!("must be 1 to {MAX_ITEM_ID} characters of A-Z a-z 0-9 _ - ."),
            )
            .broke(Rule::Format));
        }
        Ok(Self(s.to_owned()))
    }

    /// A fresh random id (128 bits, hex).
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        // getrandom only fails when the OS has no entropy source at all; a
        // time-and-counter fallback still gives ids unique on this device.
        if getrandom::fill(&mut bytes).is_err() {
            bytes = fallback_random();
        }
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn fallback_random() -> [u8; 16] {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let digest = Sha256::digest(format!("{t}:{n}:{}", std::process::id()));
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

impl TryFrom<String> for ItemId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<ItemId> for String {
    fn from(u: ItemId) -> String {
        u.0
    }
}
impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which kind of record a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Diary,
    Night,
    Plan,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Diary => "diary",
            DocKind::Night => "night",
            DocKind::Plan => "plan",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "diary" => Ok(DocKind::Diary),
            "night" => Ok(DocKind::Night),
            "plan" => Ok(DocKind::Plan),
            _ => {
                Err(ValidationError::new("kind", "must be diary, night or plan")
                    .broke(Rule::Format))
            }
        }
    }
}

/// The period a document covers: a day for diaries and night logs, a month
/// for plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Day(NaiveDate),
    /// First day of the month.
    Month(NaiveDate),
}

impl Period {
    pub fn parse_day(s: &str) -> Result<NaiveDate, ValidationError> {
        // Exactly YYYY-MM-DD: chrono alone would accept "2026-1-5".
        let ok_shape = s.len() == 10
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[7] == b'-'
            && s.bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        let date = ok_shape
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
            .filter(|d| (2000..=2200).contains(&d.year()));
        date.ok_or_else(|| {
            ValidationError::new(
                "date",
                "must be a real date YYYY-MM-DD between 2000 and 2200",
            )
            .broke(Rule::Format)
        })
    }

    pub fn parse_month(s: &str) -> Result<NaiveDate, ValidationError> {
        let bad = || {
            ValidationError::new("month", "must be YYYY-MM between 2000 and 2200")
                .broke(Rule::Format)
        };
        if s.len() != 7 || s.as_bytes()[4] != b'-' {
            return Err(bad());
        }
        Self::parse_day(&format!("{s}-01")).map_err(|_| bad())
    }

    pub fn as_string(&self) -> String {
        match self {
            Period::Day(d) => d.format("%Y-%m-%d").to_string(),
            Period::Month(d) => d.format("%Y-%m").to_string(),
        }
    }
}

/// A document id: `diary:{user}:{YYYY-MM-DD}`, `night:{user}:{YYYY-MM-DD}` or
/// `plan:{user}:{YYYY-MM}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId {
    kind: DocKind,
    owner: UserId,
    period: Period,
}

impl DocId {
    pub fn diary(owner: &UserId, date: NaiveDate) -> Self {
        Self {
            kind: DocKind::Diary,
            owner: owner.clone(),
            period: Period::Day(date),
        }
    }
    pub fn night(owner: &UserId, date: NaiveDate) -> Self {
        Self {
            kind: DocKind::Night,
            owner: owner.clone(),
            period: Period::Day(date),
        }
    }
    /// The plan of the month containing `any_day_of_month`.
    pub fn plan(owner: &UserId, any_day_of_month: NaiveDate) -> Self {
        let first = any_day_of_month.with_day(1).unwrap_or(any_day_of_month);
        Self {
            kind: DocKind::Plan,
            owner: owner.clone(),
            period: Period::Month(first),
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let mut parts = s.splitn(3, ':');
        let (Some(kind), Some(user), Some(period)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ValidationError::new(
                "doc_id",
                "must look like diary:{user}:{YYYY-MM-DD}, night:{user}:{YYYY-MM-DD} or plan:{user}:{YYYY-MM}",
            )
            .broke(Rule::Format));
        };
        let kind = DocKind::parse(kind)?;
        let owner = UserId::parse(user)?;
        let period = match kind {
            DocKind::Diary | DocKind::Night => Period::Day(Period::parse_day(period)?),
            DocKind::Plan => Period::Month(Period::parse_month(period)?),
        };
        Ok(Self {
            kind,
            owner,
            period,
        })
    }

    pub fn kind(&self) -> DocKind {
        self.kind
    }
    pub fn owner(&self) -> &UserId {
        &self.owner
    }
    pub fn period(&self) -> Period {
        self.period
    }
    /// The first day the document covers (the day, or the month's first day).
    pub fn first_day(&self) -> NaiveDate {
        match self.period {
            Period::Day(d) | Period::Month(d) => d,
        }
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.kind.as_str(),
            self.owner,
            self.period.as_string()
        )
    }
}

impl FromStr for DocId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
impl TryFrom<String> for DocId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<DocId> for String {
    fn from(d: DocId) -> String {
        d.to_string()
    }
}

/// What a user is, for the write rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cadre,
    Leader,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cadre => "cadre",
            Role::Leader => "leader",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "cadre" => Ok(Role::Cadre),
            "leader" => Ok(Role::Leader),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            _ => Err(
                ValidationError::new("role", "must be cadre, leader, supervisor or admin")
                    .broke(Rule::Format),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip() {
        for s in [
            "diary:u42:2026-11-23",
            "night:zhang.san:2026-02-28",
            "plan:u42:2026-11",
        ] {
            let id = DocId::parse(s).unwrap();
            assert_eq!(id.to_string(), s);
        }
    }

    #[test]
    fn bad_doc_ids_are_refused() {
        for s in [
            "",
            "diary",
            "diary:u42",
            "diary:u42:2026-11",
            "diary:u42:2026-02-30",
            "diary:u42:2026-1-05",
            "plan:u42:2026-11-01",
            "plan:u42:2026-13",
            "memo:u42:2026-11-23",
            "diary::2026-11-23",
            "diary:a:b:2026-11-23",
            "diary:u42:1999-12-31",
            "diary:用户:2026-11-23",
        ] {
            assert!(DocId::parse(s).is_err(), "{s} should be refused");
        }
    }

    #[test]
    fn plan_id_uses_the_month() {
        let u = UserId::parse("u1").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(DocId::plan(&u, d).to_string(), "plan:u1:2026-11");
    }

    #[test]
    fn random_item_ids_differ() {
        assert_ne!(ItemId::random(), ItemId::random());
        assert!(ItemId::parse(ItemId::random().as_str()).is_ok());
    }
}

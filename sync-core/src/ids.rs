//! Identifiers that anyone can compute: users, document ids, item ids, dates.
//!
//! Every identifier is validated by a `parse` constructor, so a value of these
//! types is always well formed. A document a user keeps has the id
//! `{kind}:{user}:{date}` where the date is `YYYY-MM-DD` for diaries and
//! night logs and `YYYY-MM` for plans; a document others assign (a 督办
//! item) has `{kind}:{key}`, a random key nobody can compute.

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
    /// A 督办 item or a problem of the 问题清单: opened by one person for
    /// others, who work it and ask to close it.
    Item,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Diary => "diary",
            DocKind::Night => "night",
            DocKind::Plan => "plan",
            DocKind::Item => "item",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "diary" => Ok(DocKind::Diary),
            "night" => Ok(DocKind::Night),
            "plan" => Ok(DocKind::Plan),
            "item" => Ok(DocKind::Item),
            _ => Err(
                ValidationError::new("kind", "must be diary, night, plan or item")
                    .broke(Rule::Format),
            ),
        }
    }
    /// Is a document of this kind opened by one person for others (an id
    /// of a random key, participants kept by the server)?
    pub fn is_assigned(self) -> bool {
        matches!(self, DocKind::Item)
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

/// A document id: `diary:{user}:{YYYY-MM-DD}`, `night:{user}:{YYYY-MM-DD}`,
/// `plan:{user}:{YYYY-MM}` (kept by their owner) or `item:{key}` (assigned,
/// a random key of 32 lower-case hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId {
    kind: DocKind,
    subject: Subject,
}

/// Whose a document is: an owner's period, or a random key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Subject {
    Owned { owner: UserId, period: Period },
    Key(ItemId),
}

/// Is `s` an assigned document's key: 32 lower-case hex digits (what
/// [`ItemId::random`] makes)?
fn is_doc_key(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl DocId {
    fn owned(kind: DocKind, owner: &UserId, period: Period) -> Self {
        Self {
            kind,
            subject: Subject::Owned {
                owner: owner.clone(),
                period,
            },
        }
    }
    pub fn diary(owner: &UserId, date: NaiveDate) -> Self {
        Self::owned(DocKind::Diary, owner, Period::Day(date))
    }
    pub fn night(owner: &UserId, date: NaiveDate) -> Self {
        Self::owned(DocKind::Night, owner, Period::Day(date))
    }
    /// The plan of the month containing `any_day_of_month`.
    pub fn plan(owner: &UserId, any_day_of_month: NaiveDate) -> Self {
        let first = any_day_of_month.with_day(1).unwrap_or(any_day_of_month);
        Self::owned(DocKind::Plan, owner, Period::Month(first))
    }
    /// A new 督办 item, with a fresh random key.
    pub fn new_item() -> Self {
        Self {
            kind: DocKind::Item,
            subject: Subject::Key(ItemId::random()),
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let shape = || {
            ValidationError::new(
                "doc_id",
                "must look like diary:{user}:{YYYY-MM-DD}, night:{user}:{YYYY-MM-DD}, \
                 plan:{user}:{YYYY-MM} or item:{32 hex digits}",
            )
            .broke(Rule::Format)
        };
        let Some((kind, rest)) = s.split_once(':') else {
            return Err(shape());
        };
        let kind = DocKind::parse(kind)?;
        if kind.is_assigned() {
            if !is_doc_key(rest) {
                return Err(ValidationError::new(
                    "doc_id",
                    "an item's key must be 32 lower-case hex digits",
                )
                .broke(Rule::Format));
            }
            return Ok(Self {
                kind,
                subject: Subject::Key(ItemId(rest.to_owned())),
            });
        }
        let Some((user, period)) = rest.split_once(':') else {
            return Err(shape());
        };
        let owner = UserId::parse(user)?;
        let period = match kind {
            DocKind::Diary | DocKind::Night => Period::Day(Period::parse_day(period)?),
            DocKind::Plan => Period::Month(Period::parse_month(period)?),
            DocKind::Item => return Err(shape()),
        };
        Ok(Self::owned(kind, &owner, period))
    }

    pub fn kind(&self) -> DocKind {
        self.kind
    }
    /// The owner of a document a user keeps; `None` for an assigned one
    /// (its participants are in the document and on the server).
    pub fn owner(&self) -> Option<&UserId> {
        match &self.subject {
            Subject::Owned { owner, .. } => Some(owner),
            Subject::Key(_) => None,
        }
    }
    /// The day or month of a document a user keeps.
    pub fn period(&self) -> Option<Period> {
        match &self.subject {
            Subject::Owned { period, .. } => Some(*period),
            Subject::Key(_) => None,
        }
    }
    /// The random key of an assigned document.
    pub fn key(&self) -> Option<&ItemId> {
        match &self.subject {
            Subject::Owned { .. } => None,
            Subject::Key(k) => Some(k),
        }
    }
    /// The period as written in the id (`2026-11-23`, `2026-11`), or the
    /// key of an assigned document.
    pub fn period_or_key(&self) -> String {
        match &self.subject {
            Subject::Owned { period, .. } => period.as_string(),
            Subject::Key(k) => k.to_string(),
        }
    }
    /// The first day the document covers (the day, or the month's first
    /// day); `None` for an assigned document.
    pub fn first_day(&self) -> Option<NaiveDate> {
        match self.period()? {
            Period::Day(d) | Period::Month(d) => Some(d),
        }
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject {
            Subject::Owned { owner, period } => {
                write!(f, "{}:{owner}:{}", self.kind.as_str(), period.as_string())
            }
            Subject::Key(key) => write!(f, "{}:{key}", self.kind.as_str()),
        }
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
            "item:0123456789abcdef0123456789abcdef",
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
            "item:u42:2026-11-23",
            "item:0123456789ABCDEF0123456789ABCDEF",
            "item:0123456789abcdef",
            "item:",
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
    fn a_new_item_has_a_random_key_and_no_owner() {
        let a = DocId::new_item();
        assert_ne!(a, DocId::new_item());
        assert_eq!(DocId::parse(&a.to_string()).unwrap(), a);
        assert_eq!(a.owner(), None);
        assert_eq!(a.kind(), DocKind::Item);
    }

    #[test]
    fn random_item_ids_differ() {
        assert_ne!(ItemId::random(), ItemId::random());
        assert!(ItemId::parse(ItemId::random().as_str()).is_ok());
    }
}

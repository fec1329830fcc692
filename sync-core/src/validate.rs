//! Limits and checks on every value a user can put into a document.
//!
//! Each check returns a [`ValidationError`] naming the field and the rule, so
//! the phone can show the message next to the right input and the server can
//! refuse a change with a clear reason.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

/// Longest free text of an entry, activity field, note, comment or summary
/// (Unicode characters).
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Longest short field: place, title, overnight place (Unicode characters).
pub const MAX_SHORT_CHARS: usize = 200;
/// Most households one entry or activity may record.
pub const MAX_HOUSEHOLDS: u32 = 10_000;
/// Most photos on one entry or activity.
pub const MAX_PHOTOS_PER_ITEM: usize = 30;
/// Most entries (or activities, tasks, comments) one document may hold.
pub const MAX_ITEMS_PER_DOC: usize = 500;
/// Most operations one document may hold in all (every character ever
/// typed is one, deleted or not): about forty times a busy day's.
pub const MAX_DOC_OPS: usize = 200_000;
/// Largest saved document (bytes).
pub const MAX_DOC_BYTES: usize = 4 << 20;

/// Records are written for days that have come: a day's diary or night
/// log up to tomorrow (a cadre may prepare the next morning's visit the
/// evening before; the phone's clock may run a little ahead), a plan up to
/// next month (月初晒承诺 is prepared in the last days of the month
/// before). `today` is the local date where the county is.
pub fn period_open(
    id: &crate::ids::DocId,
    today: chrono::NaiveDate,
) -> Result<(), ValidationError> {
    use crate::ids::Period;
    match id.period() {
        // An assigned document covers no period.
        None => {}
        Some(Period::Day(day)) => {
            let tomorrow = today.succ_opt().unwrap_or(today);
            if day > tomorrow {
                return Err(ValidationError::new(
                    "date",
                    format!("{day} has not come yet; records are kept up to tomorrow ({tomorrow})"),
                )
                .broke(Rule::NotYet));
            }
        }
        Some(Period::Month(first)) => {
            let this = today.with_day(1).unwrap_or(today);
            let next = this + chrono::Months::new(1);
            if first > next {
                return Err(ValidationError::new(
                    "month",
                    format!(
                        "{} has not come yet; plans are kept up to next month ({})",
                        first.format("%Y-%m"),
                        next.format("%Y-%m")
                    ),
                )
                .broke(Rule::NotYet));
            }
        }
    }
    Ok(())
}

/// Which kind of rule a value broke: a stable code an app maps to its own
/// words (the `reason` text is English, for developers and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Any other rule.
    #[default]
    Invalid,
    /// Longer than `limit` characters.
    TooLong,
    /// Larger than `limit`.
    TooHigh,
    /// Holds control characters.
    ControlCharacters,
    /// Must be one line.
    OneLine,
    /// Not in the expected form (a date, a time, an id, a choice).
    Format,
    /// Outside the allowed range (a coordinate, a due date).
    OutOfRange,
    /// A day or month that has not come yet.
    NotYet,
    /// Must not be empty.
    Empty,
    /// An item with this id already exists.
    Exists,
    /// A text position outside the text or inside a character.
    Position,
    /// A photo's bytes do not match its hash.
    Mismatch,
    /// Contradicts another field (a place for a night not stayed, an end
    /// equal to the start).
    Inconsistent,
}

impl Rule {
    /// The stable code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            Rule::Invalid => "invalid",
            Rule::TooLong => "too_long",
            Rule::TooHigh => "too_high",
            Rule::ControlCharacters => "control_characters",
            Rule::OneLine => "one_line",
            Rule::Format => "format",
            Rule::OutOfRange => "out_of_range",
            Rule::NotYet => "not_yet",
            Rule::Empty => "empty",
            Rule::Exists => "exists",
            Rule::Position => "position",
            Rule::Mismatch => "mismatch",
            Rule::Inconsistent => "inconsistent",
        }
    }
}

/// A value that breaks a rule: which field, which rule (and its limit,
/// where it has one), and the rule in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: String,
    pub reason: String,
    #[serde(default)]
    pub rule: Rule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
            rule: Rule::Invalid,
            limit: None,
        }
    }

    /// The same error, naming the rule it broke.
    #[must_use]
    pub fn broke(mut self, rule: Rule) -> Self {
        self.rule = rule;
        self
    }

    /// The same error, naming the rule's limit.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit as u64);
        self
    }
}

pub(crate) fn text(field: &str, value: &str, max_chars: usize) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if n > max_chars {
        return Err(ValidationError::new(
            field,
            format!("is {n} characters long; at most {max_chars} are allowed"),
        )
        .broke(Rule::TooLong)
        .limit(max_chars));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::new(field, "contains control characters")
            .broke(Rule::ControlCharacters));
    }
    Ok(())
}

pub(crate) fn short(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.contains('\n') {
        return Err(ValidationError::new(field, "must be one line").broke(Rule::OneLine));
    }
    text(field, value, MAX_SHORT_CHARS)
}

pub(crate) fn households(field: &str, n: u32) -> Result<(), ValidationError> {
    if n > MAX_HOUSEHOLDS {
        return Err(
            ValidationError::new(field, format!("at most {MAX_HOUSEHOLDS}"))
                .broke(Rule::TooHigh)
                .limit(MAX_HOUSEHOLDS as usize),
        );
    }
    Ok(())
}

/// A local time of day, `HH:MM` (24 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new("time", "must be HH:MM between 00:00 and 23:59")
                .broke(Rule::Format)
        };
        let b = s.as_bytes();
        if b.len() != 5 || b[2] != b':' {
            return Err(bad());
        }
        let h: u16 = s[0..2].parse().map_err(|_| bad())?;
        let m: u16 = s[3..5].parse().map_err(|_| bad())?;
        if !s[0..2].bytes().all(|c| c.is_ascii_digit())
            || !s[3..5].bytes().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(Self {
            minutes: h * 60 + m,
        })
    }
    pub fn from_hm(h: u16, m: u16) -> Result<Self, ValidationError> {
        Self::parse(&format!("{h:02}:{m:02}"))
    }
    pub fn minutes(self) -> u16 {
        self.minutes
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> String {
        t.to_string()
    }
}
impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// A position recorded by the phone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy_m: f64,
}

impl Location {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(
                ValidationError::new("location.lat", "must be between -90 and 90")
                    .broke(Rule::OutOfRange),
            );
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            return Err(
                ValidationError::new("location.lon", "must be between -180 and 180")
                    .broke(Rule::OutOfRange),
            );
        }
        if !self.accuracy_m.is_finite() || !(0.0..=100_000.0).contains(&self.accuracy_m) {
            return Err(ValidationError::new(
                "location.accuracy_m",
                "must be between 0 and 100000 metres",
            )
            .broke(Rule::OutOfRange));
        }
        Ok(())
    }
}

/// A photo's content hash: SHA-256, 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhotoHash(String);

impl PhotoHash {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ValidationError::new(
                "photo",
                "must be a SHA-256 in 64 lower-case hex digits",
            )
            .broke(Rule::Format));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn of_bytes(bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        Self(hex::encode(Sha256::digest(bytes)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for PhotoHash {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<PhotoHash> for String {
    fn from(h: PhotoHash) -> String {
        h.0
    }
}
impl std::fmt::Display for PhotoHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(TimeOfDay::parse("08:30").unwrap().to_string(), "08:30");
        for bad in [
            "8:30", "24:00", "12:60", "ab:cd", "12:3", "+1:30", "12:+3", "",
        ] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        let chinese = "走".repeat(MAX_TEXT_CHARS);
        assert!(text("text", &chinese, MAX_TEXT_CHARS).is_ok());
        let too_long = "走".repeat(MAX_TEXT_CHARS + 1);
        let err = text("text", &too_long, MAX_TEXT_CHARS).unwrap_err();
        assert_eq!(err.field, "text");
        assert!(text("text", "a\u{0}b", 10).is_err());
        assert!(short("place", "a\nb").is_err());
    }

    #[test]
    fn locations() {
        let ok = Location {
            lat: 27.1,
            lon: 109.2,
            accuracy_m: 15.0,
        };
        assert!(ok.validate().is_ok());
        for bad in [
            Location { lat: 91.0, ..ok },
            Location { lon: -181.0, ..ok },
            Location {
                accuracy_m: -1.0,
                ..ok
            },
            Location {
                lat: f64::NAN,
                ..ok
            },
        ] {
            assert!(bad.validate().is_err());
        }
    }

    #[test]
    fn photo_hashes() {
        let h = PhotoHash::of_bytes(b"abc");
        assert_eq!(
            h.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(PhotoHash::parse(&h.as_str().to_uppercase()).is_err());
        assert!(PhotoHash::parse("abc").is_err());
    }
}

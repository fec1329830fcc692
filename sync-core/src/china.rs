//! China Standard Time (UTC+8, no daylight saving): the time every record,
//! deadline, page and schedule is read in, on the server and on the phone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// UTC+8.
pub const OFFSET: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// Now, in China.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&OFFSET)
}

/// Today's date in China.
pub fn today() -> NaiveDate {
    now().date_naive()
}

/// A moment (ms since the epoch) in China, if it is one.
pub fn at_ms(ms: i64) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&OFFSET))
}

/// Milliseconds since the epoch of a wall-clock time in China (a fixed
/// offset: no gaps or folds, exactly one moment).
pub fn ms_of(local: NaiveDateTime) -> i64 {
    (local - chrono::Duration::seconds(i64::from(OFFSET.local_minus_utc())))
        .and_utc()
        .timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_in_china_is_four_in_the_afternoon_utc() {
        let t = at_ms(1_764_518_400_000).unwrap(); // 2025-11-30T16:00:00Z
        assert_eq!(t.format("%Y-%m-%d %H:%M").to_string(), "2025-12-01 00:00");
        let local = NaiveDate::from_ymd_opt(2025, 12, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(ms_of(local), 1_764_518_400_000);
    }
}

//! Reading records for people: a stored document as plain values, and a
//! cadre's diaries and night logs day by day. The scope check is the
//! caller's (`access.rs`); what is read here is already allowed.

use serde::Serialize;
use sync_core::document::Record;
use sync_core::{Actor, CoreError, DocId, Document};

use crate::storage::{Store, StoreError};

/// A stored document's values.
pub fn decode(id: DocId, bytes: &[u8]) -> Result<Record, CoreError> {
    Document::load_stored(id, bytes, &Actor::random()).map(|d| d.read())
}

/// One day of a cadre's records.
#[derive(Debug, Serialize)]
pub struct Day {
    pub date: String,
    pub diary: Option<Record>,
    pub night: Option<Record>,
}

/// `user_id`'s diaries and night logs over `from..=to` (days as
/// `YYYY-MM-DD`), day by day; days with neither are left out.
pub async fn days_of(
    store: &Store,
    user_id: &str,
    from: &str,
    to: &str,
) -> Result<Vec<Day>, StoreError> {
    let mut out: Vec<Day> = Vec::new();
    for stored in store.owner_records(user_id, from, to).await? {
        let Ok(id) = DocId::parse(&stored.doc_id) else {
            continue;
        };
        let Some(date) = id.period().map(|p| p.as_string()) else {
            continue;
        };
        let day = match out.last_mut() {
            Some(day) if day.date == date => day,
            _ => {
                out.push(Day {
                    date,
                    diary: None,
                    night: None,
                });
                let Some(day) = out.last_mut() else {
                    continue;
                };
                day
            }
        };
        match stored.record {
            r @ Record::Diary(_) => day.diary = Some(r),
            r @ Record::Night(_) => day.night = Some(r),
            Record::Plan(_) | Record::Item(_) => {}
        }
    }
    Ok(out)
}

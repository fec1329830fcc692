//! What a weekly publication says, built from the records without I/O.
//!
//! Public by design: it carries names, places, what was done and photo
//! thumbnails; never GPS positions, never mobile or identity numbers written
//! in any of its texts (masked as `138****5678`, see `masking`), never
//! comments.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use sync_core::document::{Category, NightKind};
use sync_core::Record;

use super::week::IsoWeek;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    pub unit_id: String,
    pub unit_name: String,
    pub week: String,
    pub title: String,
    /// When it was made (ms since the epoch).
    pub published_at: i64,
    pub totals: Totals,
    pub cadres: Vec<CadreWeek>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub cadres: u32,
    /// Days with at least one entry.
    pub records_filed: u32,
    pub entries: u32,
    /// Distinct places of visits (走访).
    pub villages_visited: u32,
    pub night_activities: u32,
    pub overnight_stays: u32,
    /// Workdays with no record.
    pub missing_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CadreWeek {
    pub user_id: String,
    pub name: String,
    pub unit_name: String,
    pub days: Vec<DayRecord>,
    /// Workdays (Monday to Friday, not holidays) with no entry.
    pub missing_days: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRecord {
    pub date: String,
    pub entries: Vec<PublicEntry>,
    pub night: Vec<PublicActivity>,
    pub stayed_overnight: bool,
    pub overnight_place: Option<String>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicEntry {
    pub time: String,
    pub category: String,
    pub place: String,
    pub text: String,
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicActivity {
    pub kind: String,
    pub start: String,
    pub end: Option<String>,
    pub place: String,
    pub issues: String,
    pub help: String,
    pub photos: Vec<String>,
}

/// One cadre and the week's documents (diaries and night logs).
pub struct CadreInput {
    pub user_id: String,
    pub name: String,
    pub unit_name: String,
    pub records: Vec<Record>,
}

pub fn category_zh(c: Category) -> &'static str {
    match c {
        Category::Visit => "走访",
        Category::Meeting => "会议",
        Category::Project => "项目",
        Category::Mediation => "调解",
        Category::Study => "学习",
        Category::Duty => "值班",
        Category::Other => "其他",
    }
}

pub fn night_zh(k: NightKind) -> &'static str {
    match k {
        NightKind::Study => "夜学",
        NightKind::Visit => "夜访",
        NightKind::Discussion => "夜议",
        NightKind::Help => "夜帮",
    }
}

/// Monday to Friday, not a holiday.
pub fn is_workday(d: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d)
}

/// Build the publication of `week` for a unit.
pub fn build(
    unit_id: &str,
    unit_name: &str,
    week: IsoWeek,
    cadres: Vec<CadreInput>,
    holidays: &[NaiveDate],
    published_at: i64,
) -> Publication {
    let mut totals = Totals::default();
    let mut places = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for c in cadres {
        let mut days: BTreeMap<NaiveDate, DayRecord> = week
            .days()
            .map(|d| {
                (
                    d,
                    DayRecord {
                        date: d.format("%Y-%m-%d").to_string(),
                        entries: Vec::new(),
                        night: Vec::new(),
                        stayed_overnight: false,
                        overnight_place: None,
                        summary: String::new(),
                    },
                )
            })
            .collect();
        for record in c.records {
            match record {
                Record::Diary(d) => {
                    let Some(day) = days.get_mut(&d.id.first_day()) else {
                        continue;
                    };
                    for e in d.entries.into_iter().filter(|e| !e.deleted) {
                        if e.category == Category::Visit && !e.place.trim().is_empty() {
                            places.insert(e.place.trim().to_owned());
                        }
                        day.entries.push(PublicEntry {
                            time: e.time,
                            category: category_zh(e.category).into(),
                            place: e.place,
                            text: e.text,
                            photos: e.photos.into_iter().map(|p| p.hash).collect(),
                        });
                    }
                    day.summary = d.summary;
                }
                Record::Night(n) => {
                    let Some(day) = days.get_mut(&n.id.first_day()) else {
                        continue;
                    };
                    for a in n.activities.into_iter().filter(|a| !a.deleted) {
                        day.night.push(PublicActivity {
                            kind: night_zh(a.kind).into(),
                            start: a.start,
                            end: a.end,
                            place: a.place,
                            issues: a.issues,
                            help: a.help,
                            photos: a.photos.into_iter().map(|p| p.hash).collect(),
                        });
                    }
                    day.stayed_overnight = n.stayed_overnight;
                    day.overnight_place = n.overnight_place;
                }
                Record::Plan(_) => {}
            }
        }
        let missing: Vec<String> = days
            .iter()
            .filter(|(d, r)| is_workday(**d, holidays) && r.entries.is_empty())
            .map(|(_, r)| r.date.clone())
            .collect();
        totals.cadres += 1;
        for r in days.values() {
            totals.records_filed += u32::from(!r.entries.is_empty());
            totals.entries += r.entries.len() as u32;
            totals.night_activities += r.night.len() as u32;
            totals.overnight_stays += u32::from(r.stayed_overnight);
        }
        totals.missing_days += missing.len() as u32;
        out.push(CadreWeek {
            user_id: c.user_id,
            name: c.name,
            unit_name: c.unit_name,
            days: days
                .into_values()
                .filter(|r| !r.entries.is_empty() || !r.night.is_empty() || r.stayed_overnight)
                .collect(),
            missing_days: missing,
        });
    }
    totals.villages_visited = places.len() as u32;
    super::masking::mask_publication(Publication {
        unit_id: unit_id.to_owned(),
        unit_name: unit_name.to_owned(),
        week: week.to_string(),
        title: format!(
            "{unit_name}干部工作纪实周公示（{}—{}）",
            super::week::zh_day(week.monday()),
            super::week::zh_day(week.sunday())
        ),
        published_at,
        totals,
        cadres: out,
    })
}

impl Publication {
    /// Every photo the publication shows.
    pub fn photos(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .cadres
            .iter()
            .flat_map(|c| &c.days)
            .flat_map(|d| {
                d.entries
                    .iter()
                    .flat_map(|e| &e.photos)
                    .chain(d.night.iter().flat_map(|a| &a.photos))
            })
            .map(String::as_str)
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

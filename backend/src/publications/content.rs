//! What a weekly publication says, built from the records without I/O.
//!
//! Public by design: it carries names, places, what was done and photo
//! thumbnails; never GPS positions, never mobile or identity numbers written
//! in any of its texts (masked as `138****5678`, see `masking`), never
//! comments.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sync_core::document::{Category, NightKind};
use sync_core::Record;

use super::week::IsoWeek;
use crate::calendar::Calendar;

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
    /// Households visited (户数 of entries and night activities).
    #[serde(default)]
    pub households: u64,
    /// Night activities by kind.
    #[serde(default)]
    pub nights: NightCounts,
}

/// 四夜 by kind: 夜学, 夜访, 夜议, 夜帮.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NightCounts {
    pub study: u32,
    pub visit: u32,
    pub discussion: u32,
    pub help: u32,
}

impl NightCounts {
    fn add(&mut self, kind: NightKind) {
        match kind {
            NightKind::Study => self.study += 1,
            NightKind::Visit => self.visit += 1,
            NightKind::Discussion => self.discussion += 1,
            NightKind::Help => self.help += 1,
        }
    }

    fn sum(&mut self, other: &NightCounts) {
        self.study += other.study;
        self.visit += other.visit;
        self.discussion += other.discussion;
        self.help += other.help;
    }
}

/// One cadre's row of the notice's summary table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadreSummary {
    /// Workdays of the week (应填).
    pub days_due: u32,
    /// Workdays with at least one entry (已填).
    pub days_filed: u32,
    pub entries: u32,
    pub households: u64,
    pub nights: NightCounts,
    pub nights_stayed: u32,
    /// Workdays with no entry (未填).
    pub days_missed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CadreWeek {
    pub user_id: String,
    pub name: String,
    pub unit_name: String,
    /// 职务.
    #[serde(default)]
    pub post: String,
    pub days: Vec<DayRecord>,
    /// Working days (the county calendar's) with no entry.
    pub missing_days: Vec<String>,
    /// The week in figures (publications made before it have none).
    #[serde(default)]
    pub summary: CadreSummary,
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
    #[serde(default)]
    pub households: u64,
    pub text: String,
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicActivity {
    pub kind: String,
    pub start: String,
    pub end: Option<String>,
    pub place: String,
    #[serde(default)]
    pub households: u64,
    pub issues: String,
    pub help: String,
    pub photos: Vec<String>,
}

/// One cadre and the week's documents (diaries and night logs).
pub struct CadreInput {
    pub user_id: String,
    pub name: String,
    pub unit_name: String,
    pub post: String,
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

/// Build the publication of `week` for a unit.
pub fn build(
    unit_id: &str,
    unit_name: &str,
    week: IsoWeek,
    cadres: Vec<CadreInput>,
    calendar: &Calendar,
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
        let mut night_kinds = Vec::new();
        for record in c.records {
            match record {
                Record::Diary(d) => {
                    let Some(day) = d.id.first_day().and_then(|day| days.get_mut(&day)) else {
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
                            households: e.households,
                            text: e.text,
                            photos: e.photos.into_iter().map(|p| p.hash).collect(),
                        });
                    }
                    day.summary = d.summary;
                }
                Record::Night(n) => {
                    let Some(day) = n.id.first_day().and_then(|day| days.get_mut(&day)) else {
                        continue;
                    };
                    for a in n.activities.into_iter().filter(|a| !a.deleted) {
                        night_kinds.push(a.kind);
                        day.night.push(PublicActivity {
                            kind: night_zh(a.kind).into(),
                            start: a.start,
                            end: a.end,
                            place: a.place,
                            households: a.households,
                            issues: a.issues,
                            help: a.help,
                            photos: a.photos.into_iter().map(|p| p.hash).collect(),
                        });
                    }
                    day.stayed_overnight = n.stayed_overnight;
                    day.overnight_place = n.overnight_place;
                }
                Record::Plan(_) | Record::Item(_) => {}
            }
        }
        let missing: Vec<String> = days
            .iter()
            .filter(|(d, r)| calendar.is_workday(**d) && r.entries.is_empty())
            .map(|(_, r)| r.date.clone())
            .collect();
        totals.cadres += 1;
        let mut summary = CadreSummary::default();
        for (d, r) in &days {
            if calendar.is_workday(*d) {
                summary.days_due += 1;
                summary.days_filed += u32::from(!r.entries.is_empty());
            }
            summary.entries += r.entries.len() as u32;
            summary.households += r.entries.iter().map(|e| e.households).sum::<u64>()
                + r.night.iter().map(|a| a.households).sum::<u64>();
            summary.nights_stayed += u32::from(r.stayed_overnight);
            totals.records_filed += u32::from(!r.entries.is_empty());
            totals.entries += r.entries.len() as u32;
            totals.night_activities += r.night.len() as u32;
            totals.overnight_stays += u32::from(r.stayed_overnight);
        }
        for kind in &night_kinds {
            summary.nights.add(*kind);
        }
        summary.days_missed = missing.len() as u32;
        totals.missing_days += missing.len() as u32;
        totals.households += summary.households;
        totals.nights.sum(&summary.nights);
        out.push(CadreWeek {
            user_id: c.user_id,
            name: c.name,
            unit_name: c.unit_name,
            post: c.post,
            summary,
            days: days
                .into_values()
                .filter(|r| {
                    !r.entries.is_empty()
                        || !r.night.is_empty()
                        || r.stayed_overnight
                        || !r.summary.is_empty()
                })
                .collect(),
            missing_days: missing,
        });
    }
    totals.villages_visited = places.len() as u32;
    super::masking::mask_publication(Publication {
        unit_id: unit_id.to_owned(),
        unit_name: unit_name.to_owned(),
        week: week.to_string(),
        title: format!("{unit_name}干部工作纪实周公示（{}）", week.zh_range()),
        published_at,
        totals,
        cadres: out,
    })
}

impl DayRecord {
    /// `11月19日 周四`.
    pub fn label(&self) -> String {
        super::week::zh_day_label(&self.date)
    }
}

impl CadreWeek {
    /// The missing workdays as the notice writes them: `11月17日、11月18日`.
    pub fn missing_zh(&self) -> String {
        self.missing_days
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map(super::week::zh_day)
                    .unwrap_or_else(|_| d.clone())
            })
            .collect::<Vec<_>>()
            .join("、")
    }
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

    /// The publication without its photos: how a superseded version is
    /// shown (only the current version's photos are public).
    pub fn without_photos(mut self) -> Publication {
        for d in self.cadres.iter_mut().flat_map(|c| c.days.iter_mut()) {
            d.entries.iter_mut().for_each(|e| e.photos.clear());
            d.night.iter_mut().for_each(|a| a.photos.clear());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::document::{ActivityFields, EntryFields, TextTarget};
    use sync_core::validate::TimeOfDay;
    use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, Role, UserId};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn ctx() -> EditContext {
        EditContext {
            user: UserId::parse("u1").unwrap(),
            role: Role::Cadre,
            now_ms: 1_763_500_000_000,
        }
    }

    fn record(id: DocId, edits: &[Edit]) -> Record {
        let mut doc = Document::create(id, &Actor::random());
        for e in edits {
            doc.apply(e, &ctx()).unwrap();
        }
        doc.read()
    }

    fn entry(households: u32) -> Edit {
        Edit::AddEntry {
            id: ItemId::random(),
            fields: EntryFields {
                time: TimeOfDay::parse("09:00").unwrap(),
                category: Category::Visit,
                place: "青山村".into(),
                text: "入户走访".into(),
                households,
                location: None,
            },
        }
    }

    fn activity(kind: NightKind, households: u32) -> Edit {
        Edit::AddActivity {
            id: ItemId::random(),
            fields: ActivityFields {
                kind,
                start: TimeOfDay::parse("19:30").unwrap(),
                end: None,
                place: "村部".into(),
                households,
                issues: "饮水".into(),
                help: String::new(),
            },
        }
    }

    #[test]
    fn the_summary_row_counts_days_households_and_nights_by_kind() {
        let u1 = UserId::parse("u1").unwrap();
        let week = IsoWeek::parse("2026-W47").unwrap(); // 16 to 22 November
        let records = vec![
            // Monday: two entries, 3 and 2 households, and a day summary.
            record(
                DocId::diary(&u1, day(16)),
                &[
                    entry(3),
                    entry(2),
                    Edit::SetText {
                        target: TextTarget::Summary,
                        text: "走访五户".into(),
                    },
                ],
            ),
            // Monday night: 夜访 (4 households) and 夜议, stayed.
            record(
                DocId::night(&u1, day(16)),
                &[
                    activity(NightKind::Visit, 4),
                    activity(NightKind::Discussion, 0),
                    Edit::SetOvernight {
                        stayed: true,
                        place: None,
                    },
                ],
            ),
            // Saturday: an entry on a day not due.
            record(DocId::diary(&u1, day(21)), &[entry(1)]),
            // Wednesday: only a summary, no entry (a day still missed).
            record(
                DocId::diary(&u1, day(18)),
                &[Edit::SetText {
                    target: TextTarget::Summary,
                    text: "在镇里开会".into(),
                }],
            ),
        ];
        let calendar = Calendar::with_holidays([day(20)]);
        let p = build(
            "t1",
            "石门镇",
            week,
            vec![CadreInput {
                user_id: "u1".into(),
                name: "张三".into(),
                unit_name: "青山村".into(),
                post: "驻村第一书记".into(),
                records,
            }],
            &calendar,
            0,
        );
        let c = &p.cadres[0];
        assert_eq!(c.post, "驻村第一书记");
        assert_eq!(
            c.summary,
            CadreSummary {
                days_due: 4,
                days_filed: 1,
                entries: 3,
                households: 10,
                nights: NightCounts {
                    study: 0,
                    visit: 1,
                    discussion: 1,
                    help: 0
                },
                nights_stayed: 1,
                days_missed: 3,
            }
        );
        assert_eq!(p.totals.households, 10);
        assert_eq!(p.totals.nights, c.summary.nights);
        assert_eq!(c.missing_zh(), "11月17日、11月18日、11月19日");
        let labels: Vec<String> = c.days.iter().map(DayRecord::label).collect();
        assert_eq!(labels, ["11月16日 周一", "11月18日 周三", "11月21日 周六"]);
        assert_eq!(c.days[0].summary, "走访五户");
        assert_eq!(
            c.days[1].summary, "在镇里开会",
            "a day with only a summary shows"
        );
        assert_eq!(
            p.title,
            "石门镇干部工作纪实周公示（第47周 11月16日—11月22日）"
        );
    }

    #[test]
    fn a_publication_stored_before_the_summary_still_parses() {
        let old = r#"{"unit_id":"t1","unit_name":"石门镇","week":"2026-W47","title":"t",
            "published_at":0,"totals":{"cadres":1,"records_filed":0,"entries":0,
            "villages_visited":0,"night_activities":0,"overnight_stays":0,"missing_days":5},
            "cadres":[{"user_id":"u1","name":"张三","unit_name":"青山村","days":[
              {"date":"2026-11-16","entries":[{"time":"09:00","category":"走访","place":"",
               "text":"x","photos":[]}],"night":[],"stayed_overnight":false,
               "overnight_place":null,"summary":""}],"missing_days":[]}]}"#;
        let p: Publication = serde_json::from_str(old).unwrap();
        assert_eq!(p.cadres[0].summary, CadreSummary::default());
        assert_eq!(p.totals.households, 0);
        assert_eq!(p.cadres[0].days[0].entries[0].households, 0);
    }
}

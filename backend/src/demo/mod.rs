//! `jishi demo`: a demo county with two weeks of work in it, made through
//! the real paths — users created as `jishi admin` does, phones with real
//! replica files syncing and uploading photos over HTTP, the weekly
//! publications made as the Monday task does, reviews submitted through
//! the API by each cadre's assigned reviewer — then served.
//!
//! [`populate`] does the work against a running server; [`cli`] is the
//! command around it (data folder checks, the server, what it prints).

pub mod cases;
pub mod cli;
mod county;
pub mod items;
mod reviews;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use jishi_world::county::{self as world_county, County};
use jishi_world::phone;
pub use jishi_world::phone::PhoneReport;

use crate::publications::{self, week::IsoWeek};
use crate::state::AppState;

/// The password of every demo login.
pub const DEMO_PASSWORD: &str = "jishi-demo";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Cadres besides the township leaders and the supervisor.
    pub cadres: usize,
    /// Where the phones' replica files go (one folder per phone).
    pub phones_dir: PathBuf,
    /// The demo covers the two ISO weeks before this day's week.
    pub today: NaiveDate,
    /// Phones working at once.
    pub concurrency: usize,
    pub password: String,
}

impl DemoOptions {
    pub fn new(cadres: usize, phones_dir: PathBuf) -> Self {
        Self {
            cadres,
            phones_dir,
            today: china_today(),
            concurrency: 4,
            password: DEMO_PASSWORD.to_owned(),
        }
    }
}

/// Today in UTC+8, where the cadres are.
pub fn china_today() -> NaiveDate {
    crate::china::today()
}

/// Where the demo stands, for a progress display: step `step` of `steps`,
/// `done` of `total` things in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub step: usize,
    pub steps: usize,
    pub label: &'static str,
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationLink {
    pub unit_id: String,
    pub unit_name: String,
    pub week: String,
    /// `/p/{unit}/{week}`
    pub path: String,
    pub title: String,
    pub cadres: u32,
    pub entries: u32,
    pub photos: usize,
}

/// One month notice the demo published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthNoticeLink {
    pub unit_name: String,
    /// `2026-11-start`, `2026-11-end`.
    pub key: String,
    /// `/p/{unit}/{key}`
    pub path: String,
    pub title: String,
    pub commitments: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoLogin {
    /// What the login is for, e.g. "supervisor (督办组)".
    pub what: String,
    pub name: String,
    pub login: String,
    pub password: String,
}

/// What the demo made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSummary {
    /// 督办 items made, by state.
    pub items: items::ItemsMade,
    /// Cases the public brought, by state.
    pub cases: cases::CasesMade,
    pub county: String,
    pub townships: usize,
    pub villages: usize,
    pub cadres: usize,
    pub leaders: usize,
    pub weeks: Vec<String>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub days_filed: usize,
    pub entries: usize,
    pub night_activities: usize,
    pub nights_stayed: usize,
    pub photos: usize,
    pub tasks: usize,
    pub tasks_closed: usize,
    pub syncs: usize,
    pub publications: Vec<PublicationLink>,
    /// The month's notices: 晒承诺 at its start, 公示 at its end.
    #[serde(default)]
    pub month_notices: Vec<MonthNoticeLink>,
    pub review_month: String,
    pub reviews: usize,
    /// Names of the people left for the user to review.
    pub unreviewed: Vec<String>,
    pub logins: Vec<DemoLogin>,
    pub seconds: f64,
}

const STEPS: usize = 7;

/// The two ISO weeks before `today`'s week.
pub fn demo_weeks(today: NaiveDate) -> [IsoWeek; 2] {
    let last = IsoWeek::of(today).previous();
    [last.previous(), last]
}

/// The month most of `days` fall in, as `YYYY-MM`.
fn main_month(days: &[NaiveDate]) -> String {
    let mut count: BTreeMap<(i32, u32), usize> = BTreeMap::new();
    for d in days {
        *count.entry((d.year(), d.month())).or_default() += 1;
    }
    let ((y, m), _) = count
        .into_iter()
        .max_by_key(|(k, n)| (*n, *k))
        .unwrap_or(((2000, 1), 0));
    format!("{y:04}-{m:02}")
}

/// Make the demo in the (empty) store of the server at `base_url` whose
/// state is `state`: the county, two weeks of phones, the publications,
/// the reviews. `progress` is called as each step advances.
pub async fn populate(
    base_url: &str,
    state: &AppState,
    opts: &DemoOptions,
    progress: impl Fn(Progress),
) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let base = base_url.trim_end_matches('/');
    let store = &state.store;
    let county = County::plan(opts.cadres);
    let step = |step: usize, label: &'static str, done: usize, total: usize| {
        progress(Progress {
            step,
            steps: STEPS,
            label,
            done,
            total,
        })
    };

    // 1. The county and its people.
    let people = 1 + county.leaders.len() + county.cadres.len();
    step(1, "creating the county's users", 0, people);
    county::create(store, &county, &opts.password, |done, total| {
        step(1, "creating the county's users", done, total)
    })
    .await?;

    // 2. Two weeks on the phones.
    let weeks = demo_weeks(opts.today);
    let days: Vec<NaiveDate> = weeks.iter().flat_map(|w| w.days()).collect();
    let phones: Vec<_> = county.phones().cloned().collect();
    let total = phones.len();
    let label = "two weeks of work on the phones, synced";
    step(2, label, 0, total);
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, person) in phones.into_iter().enumerate() {
        let run = phone::PhoneRun {
            base: base.to_owned(),
            dir: opts.phones_dir.join(&person.id),
            person,
            password: opts.password.clone(),
            days: days.clone(),
            seed: 1_000 + i as u64,
        };
        let slots = slots.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await?;
            tokio::task::spawn_blocking(move || run.run_blocking())
                .await
                .context("a demo phone stopped")?
        });
    }
    let mut report = PhoneReport::default();
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        report += joined.context("a demo phone stopped")??;
        done += 1;
        step(2, label, done, total);
    }

    // 3. The weekly publications, as the Monday task makes them.
    let units = store.publishing_units().await?;
    let label = "making the weekly publications";
    let total = units.len() * weeks.len();
    step(3, label, 0, total);
    let mut links = Vec::new();
    for week in weeks {
        for unit in &units {
            let calendar = crate::calendar::Calendar::of_unit(store, unit).await?;
            let (row, _) = publications::publish_week(store, unit, week, &calendar)
                .await
                .with_context(|| format!("publishing {unit} for {week}"))?;
            let p = publications::parse(&row)?;
            let photos = p
                .cadres
                .iter()
                .flat_map(|c| &c.days)
                .map(|d| {
                    d.entries.iter().map(|e| e.photos.len()).sum::<usize>()
                        + d.night.iter().map(|a| a.photos.len()).sum::<usize>()
                })
                .sum();
            links.push(PublicationLink {
                unit_id: unit.clone(),
                unit_name: p.unit_name.clone(),
                week: week.to_string(),
                path: format!("/p/{unit}/{week}"),
                title: p.title.clone(),
                cadres: p.totals.cadres,
                entries: p.totals.entries,
                photos,
            });
            step(3, label, links.len(), total);
        }
    }

    // A notice corrected, as a township does when a record came in late:
    // its page shows the version history (the oldest week of the last
    // township, by its leader).
    if let (Some(week), Some(unit)) = (weeks.first(), units.last()) {
        if let Some(leader) = county.leaders.iter().find(|l| &l.township_id == unit) {
            publications::versions::amend(
                state,
                unit,
                publications::Period::Week(*week),
                publications::versions::Amend::Correct,
                "补录周一同步的走访记录，按更新后的记录重新公示",
                &leader.id,
            )
            .await
            .with_context(|| format!("correcting {unit}'s notice of {week}"))?;
        }
    }

    // 4. The month's reviews; the last cadre of each township is left for
    // the user to review.
    let month = main_month(&days);
    let mut skip = BTreeSet::new();
    for t in &county.townships {
        if let Some(last) = county.cadres.iter().rev().find(|c| c.township_id == t.id) {
            skip.insert(last.id.clone());
        }
    }
    let label = "reviewing the month";
    step(4, label, 0, county.phones().count());
    let reviewed = reviews::review_month(
        base,
        &county,
        &opts.password,
        &month,
        &skip,
        |done, total| step(4, label, done, total),
    )
    .await?;

    // 5. The month's notices: its commitments (晒承诺) and its month-end
    // notice (with the review results only once the review deadline has
    // passed: run before it, the notice says they are not public yet).
    let label = "making the month's notices";
    let parts = [
        publications::monthly::MonthPart::Start,
        publications::monthly::MonthPart::End,
    ];
    let total = units.len() * parts.len();
    step(5, label, 0, total);
    let first = crate::reviews::parse_month(&month)
        .with_context(|| format!("the demo's month {month} does not parse"))?;
    let mut month_notices = Vec::new();
    for part in parts {
        let key = publications::monthly::MonthKey { first, part };
        for unit in &units {
            let (row, _) = publications::publish(state, unit, publications::Period::Month(key))
                .await
                .with_context(|| format!("publishing {unit}'s {key}"))?;
            let n: publications::monthly::MonthNotice = serde_json::from_str(&row.content)?;
            month_notices.push(MonthNoticeLink {
                unit_name: n.unit_name,
                key: key.to_string(),
                path: format!("/p/{unit}/{key}"),
                title: n.title,
                commitments: n.totals.commitments,
            });
            step(5, label, month_notices.len(), total);
        }
    }

    // 6. 督办 items in every state.
    let label = "issuing and working 督办 items";
    step(6, label, 0, county.leaders.len() * 4);
    let items = items::make(base, &county, &opts.password, |done, total| {
        step(6, label, done, total)
    })
    .await?;

    // 7. Cases the public brought, in every state.
    let label = "filing and answering the public's cases";
    step(7, label, 0, county.leaders.len() * 4);
    let cases = cases::make(base, &county, &opts.password, |done, total| {
        step(7, label, done, total)
    })
    .await?;

    let login = |what: &str, p: &world_county::Person| DemoLogin {
        what: what.to_owned(),
        name: p.name.clone(),
        login: p.login.clone(),
        password: opts.password.clone(),
    };
    let mut logins = vec![login(
        "supervisor (督办组), whole county",
        &county.supervisor,
    )];
    if let Some(l) = county.leaders.first() {
        logins.push(login(
            &format!("leader (镇党委书记) of {}", l.township_name),
            l,
        ));
    }
    for c in county.cadres.iter().take(2) {
        logins.push(login(&format!("cadre ({}), {}", c.post, c.place), c));
    }
    Ok(DemoSummary {
        county: world_county::COUNTY_NAME.to_owned(),
        townships: county.townships.len(),
        villages: county.villages(),
        cadres: county.cadres.len(),
        leaders: county.leaders.len(),
        weeks: weeks.iter().map(ToString::to_string).collect(),
        first_day: days.first().copied().unwrap_or(opts.today),
        last_day: days.last().copied().unwrap_or(opts.today),
        days_filed: report.days_filed,
        entries: report.entries,
        night_activities: report.night_activities,
        nights_stayed: report.nights_stayed,
        photos: report.photos,
        tasks: report.tasks,
        tasks_closed: report.tasks_closed,
        syncs: report.syncs,
        publications: links,
        month_notices,
        items,
        cases,
        review_month: month,
        reviews: reviewed.reviewed,
        unreviewed: reviewed.left,
        logins,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_covers_the_two_weeks_before_this_one() {
        // Wednesday 2026-03-04 is in 2026-W10.
        let today = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        let [a, b] = demo_weeks(today);
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("2026-W08".into(), "2026-W09".into())
        );
        let days: Vec<NaiveDate> = [a, b].iter().flat_map(|w| w.days()).collect();
        assert_eq!(days.len(), 14);
        // 16 Feb – 1 Mar: February has 13 of the days.
        assert_eq!(main_month(&days), "2026-02");
    }
}

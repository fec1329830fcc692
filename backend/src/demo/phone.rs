//! One simulated phone: a real replica file, a cadre's two weeks of work
//! written into it day by day while offline, and a sync (documents, then
//! the photo outbox) on the evenings the phone finds a signal.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use chrono::{Datelike, NaiveDate, TimeZone, Weekday};
use sync_core::document::{
    ActivityFields, EntryFields, TaskFields, TaskKind, TaskStatus, TextTarget,
};
use sync_core::photo::{prepare_photo, PhotoOptions};
use sync_core::replica::Replica;
use sync_core::validate::TimeOfDay;
use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};

use super::content::{self, Rng};
use super::county::Person;
use super::{http, picture};

/// What one phone did.
#[derive(Debug, Default, Clone, Copy)]
pub struct PhoneReport {
    pub days_filed: usize,
    pub entries: usize,
    pub night_activities: usize,
    pub nights_stayed: usize,
    pub photos: usize,
    pub tasks: usize,
    pub tasks_closed: usize,
    pub syncs: usize,
}

impl std::ops::AddAssign for PhoneReport {
    fn add_assign(&mut self, o: Self) {
        self.days_filed += o.days_filed;
        self.entries += o.entries;
        self.night_activities += o.night_activities;
        self.nights_stayed += o.nights_stayed;
        self.photos += o.photos;
        self.tasks += o.tasks;
        self.tasks_closed += o.tasks_closed;
        self.syncs += o.syncs;
    }
}

pub struct PhoneRun {
    pub base: String,
    pub person: Person,
    pub password: String,
    pub days: Vec<NaiveDate>,
    /// The phone's own folder: `phone.db` and `photos/`.
    pub dir: PathBuf,
    pub seed: u64,
}

impl PhoneRun {
    /// Run the phone to the end on this (blocking) thread: the replica
    /// writes to disk synchronously, so the phone keeps off the server's
    /// async threads and drives its HTTP calls on a runtime of its own.
    pub fn run_blocking(self) -> anyhow::Result<PhoneReport> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a runtime for a demo phone")?;
        let who = format!("{} ({})", self.person.name, self.person.id);
        rt.block_on(self.run())
            .with_context(|| format!("the phone of {who}"))
    }

    async fn run(self) -> anyhow::Result<PhoneReport> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let replica = Replica::open(&self.dir.join("phone.db"))?;
        let http = http::client()?;
        let token = http::login(
            &http,
            &self.base,
            &self.person.login,
            &self.password,
            &format!("demo-phone-{}", self.person.id),
            &[replica.actor().to_hex()],
        )
        .await?;
        let mut w = Writer {
            user: UserId::parse(&self.person.id)?,
            person: &self.person,
            rng: Rng::new(self.seed),
            replica,
            open_tasks: Vec::new(),
            report: PhoneReport::default(),
        };
        for (i, &day) in self.days.iter().enumerate() {
            w.day(day, i == 0)?;
            let last = i + 1 == self.days.len();
            // Offline for a day or a few: the phone syncs on the evenings it
            // finds a signal, and always at the end.
            if last || w.rng.chance(0.45) {
                sync_all(&http, &self.base, &token, &mut w.replica).await?;
                w.report.syncs += 1;
            }
        }
        Ok(w.report)
    }
}

/// Documents first, then the photos whose documents the server now holds.
async fn sync_all(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    replica: &mut Replica,
) -> anyhow::Result<()> {
    http::sync(http, base, token, replica).await?;
    let unsent: BTreeSet<String> = replica
        .pending_docs()?
        .iter()
        .map(ToString::to_string)
        .collect();
    for photo in replica.uploads_pending()? {
        if !unsent.contains(&photo.doc) {
            http::upload_photo(http, base, token, replica, &photo).await?;
        }
    }
    Ok(())
}

struct Writer<'a> {
    user: UserId,
    person: &'a Person,
    rng: Rng,
    replica: Replica,
    open_tasks: Vec<(DocId, ItemId)>,
    report: PhoneReport,
}

/// Milliseconds since the epoch of `day` at `minutes` past midnight, UTC+8.
fn at(day: NaiveDate, minutes: u32) -> anyhow::Result<i64> {
    let china = crate::china::OFFSET;
    let local = day
        .and_hms_opt(minutes / 60 % 24, minutes % 60, 0)
        .ok_or_else(|| anyhow!("bad time {minutes} on {day}"))?;
    china
        .from_local_datetime(&local)
        .single()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| anyhow!("no single time {local} in UTC+8"))
}

fn time(minutes: u32) -> anyhow::Result<TimeOfDay> {
    let m = minutes.min(23 * 60 + 59);
    Ok(TimeOfDay::from_hm((m / 60) as u16, (m % 60) as u16)?)
}

impl Writer<'_> {
    fn ctx(&self, day: NaiveDate, minutes: u32) -> anyhow::Result<EditContext> {
        Ok(EditContext {
            user: self.user.clone(),
            role: self.person.role,
            now_ms: at(day, minutes)?,
        })
    }

    fn edit(&mut self, doc: &DocId, edit: &Edit, ctx: &EditContext) -> anyhow::Result<()> {
        self.replica
            .edit(doc, edit, ctx)
            .with_context(|| format!("editing {doc}"))
    }

    fn day(&mut self, day: NaiveDate, first: bool) -> anyhow::Result<()> {
        if first || day.day() == 1 {
            self.plan(day)?;
        }
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        // Most workdays are filed; a few are missed; a weekend day now and then.
        let filed = if weekend {
            self.rng.chance(0.06)
        } else {
            !self.rng.chance(0.07)
        };
        if filed {
            self.diary(day)?;
            if !weekend && self.rng.chance(0.35) {
                self.night(day)?;
            }
        }
        if !self.open_tasks.is_empty() && self.rng.chance(0.15) {
            self.close_task(day)?;
        }
        Ok(())
    }

    fn plan(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        let doc = DocId::plan(&self.user, day);
        let ctx = self.ctx(day, 8 * 60)?;
        let count = self.rng.range(4, 6) as usize;
        let start = self.rng.range(0, content::TASKS.len() as u32) as usize;
        let due = NaiveDate::from_ymd_opt(day.year(), day.month(), 28);
        for k in 0..count {
            let id = ItemId::random();
            let fields = TaskFields {
                title: content::TASKS[(start + k) % content::TASKS.len()].to_owned(),
                kind: if k < 3 {
                    TaskKind::Fixed
                } else {
                    TaskKind::Dynamic
                },
                due: if k % 2 == 0 { due } else { None },
            };
            self.edit(
                &doc,
                &Edit::AddTask {
                    id: id.clone(),
                    fields,
                },
                &ctx,
            )?;
            self.open_tasks.push((doc.clone(), id));
        }
        self.report.tasks += count;
        Ok(())
    }

    fn close_task(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        let k = self.rng.range(0, self.open_tasks.len() as u32 - 1) as usize;
        let (doc, id) = self.open_tasks.swap_remove(k);
        let note = self.rng.pick(content::TASK_NOTES).to_string();
        let ctx = self.ctx(day, 18 * 60)?;
        let status = if self.rng.chance(0.1) {
            TaskStatus::Dropped
        } else {
            TaskStatus::Done
        };
        self.edit(&doc, &Edit::CloseTask { id, status, note }, &ctx)?;
        self.report.tasks_closed += 1;
        Ok(())
    }

    fn diary(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        let doc = DocId::diary(&self.user, day);
        let count = self.rng.range(2, 4);
        let with_photo = self.rng.chance(0.4).then(|| self.rng.range(0, count - 1));
        let mut minutes = 8 * 60 + self.rng.range(15, 50);
        for k in 0..count {
            let category = *self.rng.pick(content::CATEGORIES);
            let households = match category {
                sync_core::document::Category::Visit => self.rng.range(1, 6),
                _ => 0,
            };
            let place = match category {
                sync_core::document::Category::Meeting => {
                    format!("{}会议室", self.person.township_name)
                }
                sync_core::document::Category::Visit => {
                    format!("{}{}组", self.person.place, self.rng.range(1, 9))
                }
                _ => self.person.place.clone(),
            };
            let id = ItemId::random();
            let fields = EntryFields {
                time: time(minutes)?,
                category,
                place,
                text: content::entry_text(&mut self.rng, category, households),
                households,
                location: None,
            };
            let ctx = self.ctx(day, minutes + 20)?;
            self.edit(
                &doc,
                &Edit::AddEntry {
                    id: id.clone(),
                    fields,
                },
                &ctx,
            )?;
            self.report.entries += 1;
            if with_photo == Some(k) {
                self.photo(&doc, &id, &ctx)?;
            }
            minutes += self.rng.range(90, 150);
        }
        if self.rng.chance(0.5) {
            let ctx = self.ctx(day, 21 * 60)?;
            let text = content::day_summary(&mut self.rng);
            self.edit(
                &doc,
                &Edit::SetText {
                    target: TextTarget::Summary,
                    text,
                },
                &ctx,
            )?;
        }
        self.report.days_filed += 1;
        Ok(())
    }

    fn photo(&mut self, doc: &DocId, item: &ItemId, ctx: &EditContext) -> anyhow::Result<()> {
        let camera = picture::jpeg(self.rng.next_u64())?;
        let prepared =
            prepare_photo(&camera, &PhotoOptions::default()).context("preparing a demo photo")?;
        self.replica
            .queue_photo(doc, item, &prepared, ctx)
            .with_context(|| format!("queueing a photo on {doc}"))?;
        self.report.photos += 1;
        Ok(())
    }

    fn night(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        let doc = DocId::night(&self.user, day);
        let kind = *self.rng.pick(content::NIGHT_KINDS);
        let start = 19 * 60 + self.rng.range(0, 6) * 15;
        let (issues, help) = content::night_texts(&mut self.rng, kind);
        let households = match kind {
            sync_core::document::NightKind::Visit => self.rng.range(2, 6),
            _ => 0,
        };
        let fields = ActivityFields {
            kind,
            start: time(start)?,
            end: Some(time(start + 90)?),
            place: self.person.place.clone(),
            households,
            issues,
            help,
        };
        let ctx = self.ctx(day, start + 100)?;
        self.edit(
            &doc,
            &Edit::AddActivity {
                id: ItemId::random(),
                fields,
            },
            &ctx,
        )?;
        self.report.night_activities += 1;
        // Cadres posted to a village often stay the night there.
        let in_village = self.person.role == Role::Cadre && self.person.unit_id.contains('-');
        if in_village && self.rng.chance(0.5) {
            let place = format!("{}村部", self.person.place.trim_end_matches('村'));
            self.edit(
                &doc,
                &Edit::SetOvernight {
                    stayed: true,
                    place: Some(place),
                },
                &ctx,
            )?;
            self.report.nights_stayed += 1;
        }
        Ok(())
    }
}

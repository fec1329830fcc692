//! One simulated phone: a real replica file, a cadre's two weeks of work
//! written into it day by day while offline, and a sync (documents, then
//! the photo outbox) on the evenings the phone finds a signal.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use chrono::{Datelike, NaiveDate, Weekday};
use sync_core::document::{
    ActivityFields, EntryFields, TaskFields, TaskKind, TaskStatus, TextTarget,
};
use sync_core::photo::{prepare_photo, PhotoOptions};
use sync_core::replica::{OutboxPhoto, Replica};
use sync_core::upload::DEFAULT_CHUNK;
use sync_core::validate::PhotoHash;
use sync_core::validate::TimeOfDay;
use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};

use crate::content::{self, Where};
use crate::county::Person;
use crate::http::{self, Busy, Device, PhotoFile};
use crate::{picture, Rng};

/// Busy answers one request waits out before the phone gives up.
const MAX_BUSY_ANSWERS: u64 = 30;
/// Failed photo requests in a row after which the phone gives up.
const MAX_UPLOAD_FAILURES: u32 = 4;

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
            .context("cannot start a runtime for a simulated phone")?;
        let who = format!("{} ({})", self.person.name, self.person.id);
        rt.block_on(self.run())
            .with_context(|| format!("the phone of {who}"))
    }

    async fn run(self) -> anyhow::Result<PhoneReport> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let replica = Replica::open(&self.dir.join("phone.db"))?;
        let http = http::client(std::time::Duration::from_secs(60))?;
        let device = Device {
            login: &self.person.login,
            password: &self.password,
            device_id: &format!("demo-phone-{}", self.person.id),
            device_name: "演示手机",
            actors: &[replica.actor().to_hex()],
        };
        let token = http::login(&http, &self.base, &device).await?.access;
        let mut busy = Busy::new(self.seed, MAX_BUSY_ANSWERS);
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
                sync_all(&http, &self.base, &token, &mut w.replica, &mut busy).await?;
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
    busy: &mut Busy,
) -> anyhow::Result<()> {
    http::sync(http, base, token, replica, busy).await?;
    let unsent: BTreeSet<String> = replica
        .pending_docs()?
        .iter()
        .map(ToString::to_string)
        .collect();
    for photo in replica.uploads_pending()? {
        if !unsent.contains(&photo.doc) {
            upload(http, base, token, replica, &photo, busy).await?;
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

/// One photo of the outbox through the resumable upload, its state
/// recorded in the replica after every answer as the app does.
async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    replica: &mut Replica,
    photo: &OutboxPhoto,
    busy: &mut Busy,
) -> anyhow::Result<()> {
    let hash = PhotoHash::parse(&photo.sha256)?;
    let bytes = std::fs::read(&photo.path)
        .with_context(|| format!("cannot read the queued photo {}", photo.path))?;
    let part = |start: u64, end: u64| {
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        bytes.get(start..end).map(<[u8]>::to_vec)
    };
    let file = PhotoFile {
        hash: &hash,
        len: photo.size,
        bytes: &part,
    };
    let (_, result) = http::upload_photo(
        http,
        base,
        token,
        &file,
        DEFAULT_CHUNK,
        MAX_UPLOAD_FAILURES,
        busy,
        |state| replica.record_upload(state, &hash),
    )
    .await;
    Ok(result?)
}

/// Milliseconds since the epoch of `day` at `minutes` past midnight, UTC+8.
fn at(day: NaiveDate, minutes: u32) -> anyhow::Result<i64> {
    let local = day
        .and_hms_opt(minutes / 60 % 24, minutes % 60, 0)
        .ok_or_else(|| anyhow!("bad time {minutes} on {day}"))?;
    Ok(sync_core::china::ms_of(local))
}

fn time(minutes: u32) -> anyhow::Result<TimeOfDay> {
    let m = minutes.min(23 * 60 + 59);
    Ok(TimeOfDay::from_hm((m / 60) as u16, (m % 60) as u16)?)
}

impl<'a> Writer<'a> {
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
            if !weekend && self.rng.chance(0.7) {
                self.status(day)?;
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
        let tasks = content::tasks_for(day);
        let count = (self.rng.range(4, 6) as usize).min(tasks.len());
        let start = self.rng.below(tasks.len());
        let due = NaiveDate::from_ymd_opt(day.year(), day.month(), 28);
        for k in 0..count {
            let id = ItemId::random();
            let fields = TaskFields {
                title: tasks[(start + k) % tasks.len()].to_owned(),
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

    fn at(&self, day: NaiveDate) -> Where<'a> {
        Where {
            villages: &self.person.villages,
            day,
        }
    }

    /// Where the person is that morning (亮身份): mostly in their village
    /// or at the office, now and then at a meeting, a training or away.
    fn status(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        use sync_core::document::StatusKind;
        let doc = DocId::diary(&self.user, day);
        let minute = 8 * 60 + self.rng.range(0, 30);
        let ctx = self.ctx(day, minute)?;
        let village =
            (self.person.unit_id != self.person.township_id).then(|| self.person.unit_id.clone());
        let (kind, village) = match (self.rng.below(10), village) {
            (0..=4, Some(v)) => (StatusKind::InVillage, Some(v)),
            (0..=6, _) => (StatusKind::OnDuty, None),
            (7, _) => (StatusKind::Meeting, None),
            (8, _) => (StatusKind::Training, None),
            _ => (StatusKind::Travel, None),
        };
        self.edit(&doc, &Edit::SetStatus { kind, village }, &ctx)
    }

    fn diary(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        let doc = DocId::diary(&self.user, day);
        let at = self.at(day);
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
                sync_core::document::Category::Visit => at.village_group(&mut self.rng),
                _ => self.person.place.clone(),
            };
            let id = ItemId::random();
            let fields = EntryFields {
                time: time(minutes)?,
                category,
                place,
                text: content::entry_text(&mut self.rng, category, households, &at),
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
            let text = content::day_summary(&mut self.rng, &at);
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
        let prepared = prepare_photo(&camera, &PhotoOptions::default())
            .context("preparing a simulated camera photo")?;
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
        let at = self.at(day);
        let (issues, help) = content::night_story(&mut self.rng, kind, &at);
        let households = match kind {
            sync_core::document::NightKind::Visit => self.rng.range(2, 6),
            _ => 0,
        };
        let fields = ActivityFields {
            kind,
            start: time(start)?,
            end: Some(time(start + 90)?),
            place: if self.person.in_village() {
                self.person.place.clone()
            } else {
                at.village(&mut self.rng)
            },
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
        let in_village = self.person.role == Role::Cadre && self.person.in_village();
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

//! Weekly publications (周公示): every Monday a unit publishes last week's
//! records of its cadres. Made by `jishi publish-week` or the server's
//! Monday task; made once per unit and week (a second attempt, from another
//! instance or a rerun, finds it stored and changes nothing); a snapshot
//! that keeps the document heads it was made from.

pub mod amendments;
pub mod content;
pub mod masking;
pub mod monthly;
pub mod notice;
pub mod qr;
pub mod render;
pub mod versions;
pub mod week;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sync_core::Role;

use crate::calendar::Calendar;
use crate::state::AppState;
use crate::storage::{Approval, PublicationRow, Store, StoreError};
use content::{CadreInput, Publication};
use monthly::{MonthDraft, MonthKey, MonthNotice, MonthPart};
use week::IsoWeek;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("unit {0} does not exist")]
    NoUnit(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored publication is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The month's reviews could not be read.
    #[error("the month's reviews: {0}")]
    Month(String),
}

impl crate::problem::IntoProblem for PublishError {
    fn into_problem(self) -> crate::problem::Problem {
        use crate::problem::Problem;
        match self {
            PublishError::NoUnit(_) => Problem::NotFound,
            PublishError::Store(e) => e.into_problem(),
            PublishError::Json(e) => Problem::Internal(e.into()),
            PublishError::Month(e) => Problem::Internal(anyhow::anyhow!(e)),
        }
    }
}

impl crate::problem::IntoProblem for render::RenderError {
    fn into_problem(self) -> crate::problem::Problem {
        crate::problem::Problem::Internal(self.into())
    }
}

crate::edge_error!(PublishError, render::RenderError);

/// A publication made from the records as they are now, not stored: what
/// `publish_week` stores, and the preview supervisors see before.
#[derive(Debug)]
pub struct Draft {
    pub publication: Publication,
    /// Document id → the heads it was read at.
    pub heads: BTreeMap<String, Vec<String>>,
}

/// Make the publication of `unit_id` for `week` from the records now.
pub async fn draft(
    store: &Store,
    unit_id: &str,
    week: IsoWeek,
    calendar: &Calendar,
    now_ms: i64,
) -> Result<Draft, PublishError> {
    let unit = store
        .unit(unit_id)
        .await?
        .ok_or_else(|| PublishError::NoUnit(unit_id.to_owned()))?;
    let units: BTreeMap<String, String> = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let (from, to) = (
        week.monday().format("%Y-%m-%d").to_string(),
        week.sunday().format("%Y-%m-%d").to_string(),
    );
    let mut heads: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cadres = Vec::new();
    for user in store.users_under(unit_id).await? {
        if !matches!(user.role, Role::Cadre | Role::Leader) || user.disabled {
            continue;
        }
        let mut records = Vec::new();
        for stored in store.owner_records(&user.id, &from, &to).await? {
            heads.insert(stored.doc_id, stored.heads);
            records.push(stored.record);
        }
        cadres.push(CadreInput {
            unit_name: units.get(&user.unit_id).cloned().unwrap_or_default(),
            user_id: user.id,
            name: user.name,
            post: user.post,
            records,
        });
    }
    let publication = content::build(&unit.id, &unit.name, week, cadres, calendar, now_ms);
    Ok(Draft { publication, heads })
}

/// The publication of `unit_id` for `week`: the stored one if it exists,
/// otherwise made now from the records and stored (whatever the unit's
/// approval mode: the demo's act, and a supervisor's publish button where
/// the unit publishes by itself).
pub async fn publish_week(
    store: &Store,
    unit_id: &str,
    week: IsoWeek,
    calendar: &Calendar,
) -> Result<(PublicationRow, bool), PublishError> {
    if let Some(row) = store.publication(unit_id, &week.to_string()).await? {
        return Ok((row, false));
    }
    let now = crate::storage::now_ms();
    let made = Made::Week(draft(store, unit_id, week, calendar, now).await?);
    store_made(store, unit_id, Period::Week(week), &made, now, None).await
}

/// What a notice covers: a week (周公示), or a month's start (晒承诺) or
/// end (月底公示). Its key (`2026-W47`, `2026-12-start`, `2026-11-end`)
/// names it in the store and in every address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week(IsoWeek),
    Month(MonthKey),
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match IsoWeek::parse(s) {
            Ok(w) => Some(Period::Week(w)),
            Err(_) => MonthKey::parse(s).map(Period::Month),
        }
    }

    /// From when it may be published (ms): a week from the publish hour of
    /// the Monday after it (records synced on Monday morning make it in); a
    /// month as `MonthKey::due_ms` says (its first working day by `calendar`).
    pub fn due_ms(&self, config: &crate::config::Config, calendar: &Calendar) -> i64 {
        match self {
            Period::Week(w) => w
                .sunday()
                .succ_opt()
                .and_then(|monday| monday.and_hms_opt(config.publish_hour.min(23), 0, 0))
                .map_or(i64::MAX, crate::china::ms_of),
            Period::Month(k) => k.due_ms(calendar, config.publish_hour, config.review_deadline_day),
        }
    }
}

impl Period {
    /// The last day the notice covers (a month's commitments: its first
    /// day, when they are made): what the notice board sorts by.
    pub fn covers_until(&self) -> NaiveDate {
        match self {
            Period::Week(w) => w.sunday(),
            Period::Month(k) => match k.part {
                MonthPart::Start => k.first,
                MonthPart::End => crate::reviews::last_day(k.first),
            },
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Week(w) => w.fmt(f),
            Period::Month(k) => k.fmt(f),
        }
    }
}

/// A notice made from the records now, of either kind.
#[derive(Debug)]
pub enum Made {
    Week(Draft),
    Month(MonthDraft),
}

impl Made {
    /// A short fingerprint of what the notice would say (the moment of
    /// making aside) and the document heads it was read at: what a leader
    /// approves (`versions::approve`).
    pub fn digest(&self) -> String {
        match self {
            Made::Week(d) => {
                let mut p = d.publication.clone();
                p.published_at = 0;
                versions::digest_of(&p, &d.heads)
            }
            Made::Month(d) => {
                let mut n = d.notice.clone();
                n.published_at = 0;
                versions::digest_of(&n, &d.heads)
            }
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Made::Week(d) => &d.publication.title,
            Made::Month(d) => &d.notice.title,
        }
    }

    /// `(content JSON, heads JSON, photos shown)`.
    pub fn stored(&self) -> Result<(String, String, Vec<String>), PublishError> {
        Ok(match self {
            Made::Week(d) => (
                serde_json::to_string(&d.publication)?,
                serde_json::to_string(&d.heads)?,
                d.publication
                    .photos()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            ),
            Made::Month(d) => (
                serde_json::to_string(&d.notice)?,
                serde_json::to_string(&d.heads)?,
                Vec::new(),
            ),
        })
    }
}

/// Make the notice of `unit_id` for `period` from the records now.
pub async fn make(
    state: &AppState,
    unit_id: &str,
    period: Period,
    now_ms: i64,
) -> Result<Made, PublishError> {
    match period {
        Period::Week(w) => {
            let calendar = Calendar::of_unit(&state.store, unit_id).await?;
            Ok(Made::Week(
                draft(&state.store, unit_id, w, &calendar, now_ms).await?,
            ))
        }
        Period::Month(k) => {
            let unit = state
                .store
                .unit(unit_id)
                .await?
                .ok_or_else(|| PublishError::NoUnit(unit_id.to_owned()))?;
            let start = match k.part {
                MonthPart::Start => None,
                MonthPart::End => {
                    month_notice_as_published(&state.store, unit_id, k.start()).await?
                }
            };
            Ok(Made::Month(
                monthly::draft(state, &unit, k, start.as_ref(), now_ms).await?,
            ))
        }
    }
}

/// The month's commitments as published: every clause any version with
/// content showed (a correction or withdrawal does not unpublish what the
/// public already read), each as it was first published, dated by the
/// first version. What the month-end notice counts changes against (a
/// clause published and then cancelled before a correction still shows as
/// cancelled). None when never published.
pub async fn month_notice_as_published(
    store: &Store,
    unit_id: &str,
    key: MonthKey,
) -> Result<Option<MonthNotice>, PublishError> {
    let mut merged: Option<MonthNotice> = None;
    for v in store
        .publication_versions(unit_id, &key.to_string())
        .await?
    {
        if v.action == crate::storage::VersionAction::Withdraw {
            continue;
        }
        let n: MonthNotice = serde_json::from_str(&v.content)?;
        match merged.as_mut() {
            None => merged = Some(n),
            Some(m) => monthly::merge_published(m, n),
        }
    }
    Ok(merged)
}

/// The notice of `unit_id` for `period`: the stored one if it exists,
/// otherwise made now and stored (whatever the unit's approval mode: the
/// demo's act, the command line's, and a supervisor's publish button where
/// the unit publishes by itself).
pub async fn publish(
    state: &AppState,
    unit_id: &str,
    period: Period,
) -> Result<(PublicationRow, bool), PublishError> {
    if let Some(row) = state
        .store
        .publication(unit_id, &period.to_string())
        .await?
    {
        return Ok((row, false));
    }
    let now = crate::storage::now_ms();
    let made = make(state, unit_id, period, now).await?;
    store_made(&state.store, unit_id, period, &made, now, None).await
}

/// What the scheduled task (and a supervisor's publish button) did for a
/// unit.
#[derive(Debug)]
pub enum Published {
    /// Published now, or found published: `(row, made by this call)`.
    Done(PublicationRow, bool),
    /// The unit publishes when one of its leaders approves: nothing yet.
    AwaitsApproval,
    /// A month notice with nothing to show (no cadre made a plan, nobody
    /// was reviewed): not published by the scheduled task or the command
    /// line (a fresh install would otherwise post empty notices of months
    /// before it); a supervisor may still publish it in the web pages.
    Empty,
}

/// Publish as the unit's approval mode says: now when it publishes by
/// itself; nothing when a leader must approve it first.
pub async fn publish_unless_approval(
    state: &AppState,
    unit_id: &str,
    period: Period,
) -> Result<Published, PublishError> {
    if let Some(row) = state
        .store
        .publication(unit_id, &period.to_string())
        .await?
    {
        return Ok(Published::Done(row, false));
    }
    if approval_of(&state.store, unit_id).await? == Approval::Leader {
        return Ok(Published::AwaitsApproval);
    }
    let now = crate::storage::now_ms();
    let made = make(state, unit_id, period, now).await?;
    if let Made::Month(d) = &made {
        let n = &d.notice;
        let reviewed = n
            .cadres
            .iter()
            .any(|c| c.result.as_ref().is_some_and(|r| r.total.is_some()));
        if n.totals.commitments == 0 && !reviewed {
            return Ok(Published::Empty);
        }
    }
    let (row, made) = store_made(&state.store, unit_id, period, &made, now, None).await?;
    Ok(Published::Done(row, made))
}

/// How `unit_id` publishes: its setting or the nearest one above.
pub async fn approval_of(store: &Store, unit_id: &str) -> Result<Approval, PublishError> {
    let unit = store
        .unit(unit_id)
        .await?
        .ok_or_else(|| PublishError::NoUnit(unit_id.to_owned()))?;
    Ok(store
        .notice_settings(&unit)
        .await?
        .approval
        .unwrap_or(Approval::Auto))
}

/// Store `made` as the notice unless one exists (another instance, or
/// a second press, got there first: theirs is kept).
pub(crate) async fn store_made(
    store: &Store,
    unit_id: &str,
    period: Period,
    made: &Made,
    now: i64,
    approved_by: Option<&str>,
) -> Result<(PublicationRow, bool), PublishError> {
    let key = period.to_string();
    let (content, heads, photos) = made.stored()?;
    let row = PublicationRow {
        unit_id: unit_id.to_owned(),
        week: key.clone(),
        title: made.title().to_owned(),
        content,
        heads,
        created_at: now,
        approved_by: approved_by.map(str::to_owned),
    };
    let photos: Vec<&str> = photos.iter().map(String::as_str).collect();
    if store.insert_publication(&row, &photos).await? {
        tracing::info!(unit = %row.unit_id, period = %key, approved_by, "notice published");
        return Ok((row, true));
    }
    let stored = store
        .publication(unit_id, &key)
        .await?
        .ok_or_else(|| PublishError::NoUnit(unit_id.to_owned()))?;
    Ok((stored, false))
}

/// Parse a stored publication.
pub fn parse(row: &PublicationRow) -> Result<Publication, PublishError> {
    Ok(serde_json::from_str(&row.content)?)
}

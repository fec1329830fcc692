//! Weekly publications (周公示): every Monday a unit publishes last week's
//! records of its cadres. Made by `jishi publish-week` or the server's
//! Monday task; made once per unit and week (a second attempt, from another
//! instance or a rerun, finds it stored and changes nothing); a snapshot
//! that keeps the document heads it was made from.

pub mod amendments;
pub mod content;
pub mod masking;
pub mod notice;
pub mod qr;
pub mod render;
pub mod versions;
pub mod week;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sync_core::Role;

use crate::storage::{Approval, PublicationRow, Store, StoreError};
use content::{CadreInput, Publication};
use week::IsoWeek;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("unit {0} does not exist")]
    NoUnit(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored publication is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl crate::problem::IntoProblem for PublishError {
    fn into_problem(self) -> crate::problem::Problem {
        use crate::problem::Problem;
        match self {
            PublishError::NoUnit(_) => Problem::NotFound,
            PublishError::Store(e) => e.into_problem(),
            PublishError::Json(e) => Problem::Internal(e.into()),
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
    holidays: &[NaiveDate],
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
    let publication = content::build(&unit.id, &unit.name, week, cadres, holidays, now_ms);
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
    holidays: &[NaiveDate],
) -> Result<(PublicationRow, bool), PublishError> {
    if let Some(row) = store.publication(unit_id, &week.to_string()).await? {
        return Ok((row, false));
    }
    let now = crate::storage::now_ms();
    let made = draft(store, unit_id, week, holidays, now).await?;
    store_draft(store, unit_id, week, made, now, None).await
}

/// What the Monday task (and a supervisor's publish button) did for a unit.
#[derive(Debug)]
pub enum Published {
    /// Published now, or found published: `(row, made by this call)`.
    Done(PublicationRow, bool),
    /// The unit publishes when one of its leaders approves: nothing yet.
    AwaitsApproval,
}

/// Publish as the unit's approval mode says: now when it publishes by
/// itself; nothing when a leader must approve it first.
pub async fn publish_unless_approval(
    store: &Store,
    unit_id: &str,
    week: IsoWeek,
    holidays: &[NaiveDate],
) -> Result<Published, PublishError> {
    if let Some(row) = store.publication(unit_id, &week.to_string()).await? {
        return Ok(Published::Done(row, false));
    }
    if approval_of(store, unit_id).await? == Approval::Leader {
        return Ok(Published::AwaitsApproval);
    }
    let (row, made) = publish_week(store, unit_id, week, holidays).await?;
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

/// Store `made` as the publication unless one exists (another instance,
/// or a second press, got there first: theirs is kept).
pub(crate) async fn store_draft(
    store: &Store,
    unit_id: &str,
    week: IsoWeek,
    made: Draft,
    now: i64,
    approved_by: Option<&str>,
) -> Result<(PublicationRow, bool), PublishError> {
    let week_s = week.to_string();
    let Draft { publication, heads } = made;
    let row = PublicationRow {
        unit_id: publication.unit_id.clone(),
        week: week_s.clone(),
        title: publication.title.clone(),
        content: serde_json::to_string(&publication)?,
        heads: serde_json::to_string(&heads)?,
        created_at: now,
        approved_by: approved_by.map(str::to_owned),
    };
    let made = store
        .insert_publication(&row, &publication.photos())
        .await?;
    if made {
        tracing::info!(unit = %row.unit_id, week = %week_s, approved_by, "weekly publication made");
        return Ok((row, true));
    }
    let stored = store
        .publication(unit_id, &week_s)
        .await?
        .ok_or_else(|| PublishError::NoUnit(unit_id.to_owned()))?;
    Ok((stored, false))
}

/// Parse a stored publication.
pub fn parse(row: &PublicationRow) -> Result<Publication, PublishError> {
    Ok(serde_json::from_str(&row.content)?)
}

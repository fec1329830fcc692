//! Weekly publications (周公示): every Monday a unit publishes last week's
//! records of its cadres. Made by `jishi publish-week` or the server's
//! Monday task; made once per unit and week (a second attempt, from another
//! instance or a rerun, finds it stored and changes nothing); a snapshot
//! that keeps the document heads it was made from.

pub mod amendments;
pub mod content;
pub mod masking;
pub mod notice;
pub mod render;
pub mod week;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sync_core::Role;

use crate::storage::{PublicationRow, Store, StoreError};
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
/// otherwise made now from the records and stored.
pub async fn publish_week(
    store: &Store,
    unit_id: &str,
    week: IsoWeek,
    holidays: &[NaiveDate],
) -> Result<(PublicationRow, bool), PublishError> {
    let week_s = week.to_string();
    if let Some(row) = store.publication(unit_id, &week_s).await? {
        return Ok((row, false));
    }
    let now = crate::storage::now_ms();
    let Draft { publication, heads } = draft(store, unit_id, week, holidays, now).await?;
    let row = PublicationRow {
        unit_id: publication.unit_id.clone(),
        week: week_s.clone(),
        title: publication.title.clone(),
        content: serde_json::to_string(&publication)?,
        heads: serde_json::to_string(&heads)?,
        created_at: now,
    };
    let made = store
        .insert_publication(&row, &publication.photos())
        .await?;
    if made {
        tracing::info!(unit = %row.unit_id, week = %week_s, "weekly publication made");
        return Ok((row, true));
    }
    // Another instance made it first: theirs is the publication.
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

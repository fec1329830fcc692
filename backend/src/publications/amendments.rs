//! What changed after a publication was made: every change a published
//! day's owner made that arrived later (a supervisor's comment is not an
//! amendment of the record, nor is where the owner said they were: the
//! status on a diary, which no publication shows). The page marks those
//! days; leaders and supervisors read the list.

use std::collections::{BTreeMap, BTreeSet};

use super::PublishError;
use crate::storage::{PublicationRow, Store};

/// One change that arrived after a publication was made, to a document it
/// was made from.
#[derive(Debug, serde::Serialize)]
pub struct Amendment {
    pub doc_id: String,
    pub day: String,
    /// Who made the change, and on which device.
    pub user_id: String,
    pub device_id: String,
    /// When the server received it (ms since the epoch).
    pub received_at: i64,
    pub change_hash: String,
}

/// Every change its owner made to a published day that arrived after the
/// publication, oldest first.
pub async fn amendments_of(
    store: &Store,
    row: &PublicationRow,
) -> Result<Vec<Amendment>, PublishError> {
    let heads: BTreeMap<String, Vec<String>> = serde_json::from_str(&row.heads)?;
    let mut out = Vec::new();
    for (doc_id, published) in &heads {
        let owner = doc_id.split(':').nth(1).unwrap_or_default();
        let mut found = Vec::new();
        for c in store.change_log(doc_id).await? {
            if c.user_id == owner
                && c.received_at > row.created_at
                && !published.contains(&c.change_hash)
            {
                found.push(Amendment {
                    doc_id: doc_id.clone(),
                    day: doc_id.rsplit(':').next().unwrap_or_default().to_owned(),
                    user_id: c.user_id,
                    device_id: c.device_id,
                    received_at: c.received_at,
                    change_hash: c.change_hash,
                });
            }
        }
        if !found.is_empty() && store.record_changed_since(doc_id, published).await? {
            out.extend(found);
        }
    }
    out.sort_by(|a, b| (a.received_at, &a.doc_id).cmp(&(b.received_at, &b.doc_id)));
    Ok(out)
}

/// The days edited after the publication was made.
pub async fn amended_days(
    store: &Store,
    row: &PublicationRow,
) -> Result<BTreeSet<String>, PublishError> {
    Ok(amendments_of(store, row)
        .await?
        .into_iter()
        .map(|a| a.day)
        .collect())
}

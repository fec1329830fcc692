//! Documents the server refused, kept with its reason until they go up (a
//! later sync that the server accepts) or the app gives up this phone's
//! changes to them. A refused document stays pending and its photos wait;
//! the cadre sees why and chooses.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sync_core::replica::Replica;
use sync_core::session::DocProblem;
use sync_core::DocId;

use crate::client::{now_ms, JishiClient};
use crate::error::{guard, in_field, JishiError};
use crate::observe::{ChangeOrigin, DocChange};

const KEY: &str = "ffi.refused";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Refusal {
    code: String,
    message: String,
    at_ms: i64,
}

/// A document the server refused.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedDocument {
    pub doc_id: String,
    /// `diary`, `night` or `plan`.
    pub kind: String,
    pub owner_id: String,
    /// `YYYY-MM-DD` or `YYYY-MM`.
    pub period: String,
    /// The server's reason code (`forbidden`, `invalid`, `too_large`, …;
    /// `bad_message` or `local_error` for a failure on this phone).
    pub code: String,
    /// The server's words (English), for logs and support.
    pub message: String,
    pub at_ms: i64,
    /// Photos of the document waiting to upload (they go when it does).
    pub photos_waiting: u32,
}

fn load(r: &Replica) -> Result<BTreeMap<String, Refusal>, JishiError> {
    match r.meta(KEY)? {
        None => Ok(BTreeMap::new()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| JishiError::StorageDamaged {
            detail: format!("the list of refused documents: {e}"),
        }),
    }
}

fn save(r: &mut Replica, m: &BTreeMap<String, Refusal>) -> Result<(), JishiError> {
    let bytes = serde_json::to_vec(m).map_err(JishiError::other)?;
    r.set_meta(KEY, &bytes)?;
    Ok(())
}

/// After a sync's documents: keep what was refused, forget what went up.
pub(crate) fn note(
    r: &mut Replica,
    problems: &[DocProblem],
    sent: &BTreeSet<DocId>,
) -> Result<(), JishiError> {
    let mut m = load(r)?;
    let before = m.len();
    let refused: BTreeSet<&DocId> = problems.iter().map(|p| &p.doc).collect();
    let mut changed = false;
    for id in sent.iter().filter(|d| !refused.contains(d)) {
        changed |= m.remove(&id.to_string()).is_some();
    }
    for p in problems {
        m.insert(
            p.doc.to_string(),
            Refusal {
                code: p.code.clone(),
                message: p.message.clone(),
                at_ms: now_ms(),
            },
        );
    }
    if changed || m.len() != before || !problems.is_empty() {
        save(r, &m)?;
    }
    Ok(())
}

#[uniffi::export]
impl JishiClient {
    /// The documents the server refused, with why, newest first. They stay
    /// unsynced (and their photos wait) until a later sync is accepted or
    /// `discard_local_changes` gives them up.
    pub fn refused_documents(&self) -> Result<Vec<RefusedDocument>, JishiError> {
        guard(|| {
            let r = self.replica();
            let outbox = r.uploads_pending()?;
            let mut out: Vec<RefusedDocument> = load(&r)?
                .into_iter()
                .filter_map(|(doc_id, refusal)| {
                    let id = DocId::parse(&doc_id).ok()?;
                    let waiting = outbox.iter().filter(|p| p.doc == doc_id).count();
                    Some(RefusedDocument {
                        kind: id.kind().as_str().to_owned(),
                        owner_id: id.owner().map(|o| o.to_string()).unwrap_or_default(),
                        period: id.period_or_key(),
                        doc_id,
                        code: refusal.code,
                        message: refusal.message,
                        at_ms: refusal.at_ms,
                        photos_waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
                    })
                })
                .collect();
            out.sort_by_key(|d| std::cmp::Reverse(d.at_ms));
            Ok(out)
        })
    }

    /// Give up this phone's changes to a document that the server has not
    /// taken: the server's version comes back with the next sync (a
    /// document it never had is removed), and its photos waiting to upload
    /// are dropped. For a refused document the cadre cannot fix, or to
    /// reset one to what the server holds.
    pub fn discard_local_changes(&self, doc_id: String) -> Result<(), JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            {
                let mut r = self.replica();
                r.discard_local_changes(&id)?;
                let mut m = load(&r)?;
                if m.remove(&doc_id).is_some() {
                    save(&mut r, &m)?;
                }
            }
            tracing::info!(doc = %id, "local changes discarded");
            self.index_comments(std::slice::from_ref(&id));
            self.observers
                .changed(vec![DocChange::of(&id, ChangeOrigin::Local)]);
            self.publish_status();
            Ok(())
        })
    }
}

//! The sync endpoint: prefetch, compute, commit, reply.
//!
//! A request is decoded, each document checked against the caller's read
//! scope (outside it answers `not_found`, the same as a document that does
//! not exist), and everything the sans-I/O server session will need —
//! documents, this device's sync states, the changed documents since the
//! cursor — is read in a few queries. `sync_core::session::serve` then runs
//! on a blocking thread with the write policy, and what it accepted is
//! committed in one transaction before the reply is sent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use automerge::ChangeHash;
use sync_core::protocol::{Batch, BatchEntry, EntryBody};
use sync_core::session::{Changed, ServerDocWrite, ServerStore, WritePolicy, MAX_PUSHED_PER_REPLY};
use sync_core::{Actor, CoreError, DocId, Document};

use crate::access::AccessError;
use crate::access::{may_read, may_read_doc, read_scope};
use crate::auth::Caller;
use crate::policy::DevicePolicy;
use crate::problem::{IntoProblem, Problem};
use crate::state::AppState;
use crate::storage::{AcceptedDoc, ReadScope, StoreError, StoredDoc, SyncCommit};

/// The server store as seen by one request: prefetched rows in, writes out.
struct Prefetched {
    actor: Actor,
    docs: HashMap<String, StoredDoc>,
    states: HashMap<String, Vec<u8>>,
    changed: Changed,
    writes: Vec<ServerDocWrite>,
}

impl ServerStore for Prefetched {
    fn actor(&self) -> Actor {
        self.actor.clone()
    }
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        match self.docs.get(&id.to_string()) {
            Some(stored) => Document::load_stored(id.clone(), &stored.bytes, &self.actor).map(Some),
            None => Ok(None),
        }
    }
    fn peer_state(&mut self, _peer: &str, id: &DocId) -> Result<Option<Vec<u8>>, CoreError> {
        Ok(self.states.get(&id.to_string()).cloned())
    }
    fn changed_since(
        &mut self,
        _peer: &str,
        _cursor: u64,
        _limit: usize,
    ) -> Result<Changed, CoreError> {
        Ok(self.changed.clone())
    }
    fn commit(&mut self, _peer: &str, writes: Vec<ServerDocWrite>) -> Result<(), CoreError> {
        self.writes = writes;
        Ok(())
    }
}

fn heads_hex(heads: &[ChangeHash]) -> String {
    heads
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Heads as stored (comma-joined hex) back into hashes.
fn parse_heads(s: &str) -> Result<Vec<ChangeHash>, automerge::ParseChangeHashError> {
    s.split(',')
        .filter(|h| !h.is_empty())
        .map(|h| h.parse::<ChangeHash>())
        .collect()
}

/// Answer one sync request of `caller`.
pub async fn handle(state: &AppState, caller: &Caller, body: &[u8]) -> Result<Vec<u8>, SyncError> {
    let request = Batch::decode(body).map_err(|e| SyncError::BadBatch(e.to_string()))?;
    let store = &state.store;
    let scope = read_scope(store, &caller.user).await?;

    let mut refused = Vec::new();
    let mut allowed = Batch {
        cursor: request.cursor,
        more: false,
        reads_items: request.reads_items,
        entries: Vec::new(),
    };
    let mut owners_ok: HashMap<String, bool> = HashMap::new();
    for entry in request.entries {
        let ok = match entry.doc.owner() {
            Some(owner) => match owners_ok.get(owner.as_str()) {
                Some(ok) => *ok,
                None => {
                    let ok = may_read(store, &scope, owner.as_str()).await?;
                    owners_ok.insert(owner.to_string(), ok);
                    ok
                }
            },
            // An item: named on it, or over its responsible person, and
            // only to a client that reads items.
            None => request.reads_items && may_read_doc(store, &scope, &entry.doc).await?,
        };
        if ok {
            allowed.entries.push(entry);
        } else {
            refused.push(BatchEntry {
                doc: entry.doc,
                body: EntryBody::Refused {
                    code: "not_found".into(),
                    message: "no such document".into(),
                },
            });
        }
    }

    let actors: HashSet<String> = store
        .device_actors(&caller.device_id)
        .await?
        .into_iter()
        .collect();
    let policy = Arc::new(DevicePolicy::new(
        caller.user.id.clone(),
        caller.user.role,
        actors,
    ));
    let allowed = Arc::new(allowed);
    // Read, merge, commit; if another request committed to one of the same
    // documents in between, the commit stores nothing and this runs again
    // on the newer versions.
    let mut attempt = 0;
    let (reply, accepted) = loop {
        attempt += 1;
        let (reply, commit) = merge(state, caller, &scope, &allowed, &policy).await?;
        let accepted = commit.docs.len() as u64;
        match store
            .commit_sync(&caller.user.id, &caller.device_id, commit)
            .await
        {
            Ok(()) => break (reply, accepted),
            Err(StoreError::Stale(doc)) if attempt < MAX_MERGE_ATTEMPTS => {
                tracing::debug!(%doc, attempt, "document changed during the merge; merging again");
                state.metrics.sync_merge_retries.inc();
            }
            Err(e) => return Err(e.into()),
        }
    };
    state.metrics.sync_docs_accepted.inc_by(accepted);

    for entry in &reply.entries {
        if let EntryBody::Refused { code, message } = &entry.body {
            if code == "forbidden_change" {
                tracing::warn!(user = %caller.user.id, device = %caller.device_id, doc = %entry.doc, reason = %message, "refused a forbidden change");
                state.metrics.sync_docs_refused.inc();
                store
                    .security_event(
                        "forbidden_change",
                        Some(&caller.user.id),
                        Some(&caller.device_id),
                        &format!("{}: {message}", entry.doc),
                    )
                    .await?;
            }
        }
    }
    let mut reply = reply;
    reply.entries.extend(refused);
    Ok(reply.encode())
}

/// Times a request merges again when its documents keep changing under it.
const MAX_MERGE_ATTEMPTS: u32 = 8;

/// Read what the server session needs, run it on a blocking thread, and
/// return its reply with what to commit (nothing is written here).
async fn merge(
    state: &AppState,
    caller: &Caller,
    scope: &ReadScope,
    allowed: &Arc<Batch>,
    policy: &Arc<DevicePolicy>,
) -> Result<(Batch, SyncCommit), SyncError> {
    let store = &state.store;
    let (changed_ids, cursor, more) = store
        .changed_since(
            scope,
            allowed.cursor,
            MAX_PUSHED_PER_REPLY,
            allowed.reads_items,
        )
        .await?;
    let mut ids: Vec<String> = allowed.entries.iter().map(|e| e.doc.to_string()).collect();
    ids.extend(changed_ids.iter().cloned());
    ids.sort();
    ids.dedup();
    let docs = store.load_documents(&ids).await?;
    let states = store.peer_states(&caller.device_id, &ids).await?;
    let changed = Changed {
        docs: changed_ids
            .iter()
            .filter_map(|s| DocId::parse(s).ok())
            .collect(),
        cursor,
        more,
    };

    let device = caller.device_id.clone();
    let permit = state
        .sync_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(SyncError::internal)?;
    let allowed = allowed.clone();
    let policy = policy.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut prefetched = Prefetched {
            actor: Actor::random(),
            docs,
            states,
            changed,
            writes: Vec::new(),
        };
        let reply = sync_core::session::serve(&mut prefetched, &*policy, &device, &allowed)?;
        let mut commit = SyncCommit::default();
        for mut w in prefetched.writes {
            let id = w.doc.id().to_string();
            if let Some(bytes) = w.saved {
                // The stored version's heads, as its row holds them (the
                // compare-and-set key): the changes after them are new.
                let prev_heads = prefetched.docs.get(&id).map(|d| d.heads.clone());
                let heads = w.doc.heads();
                // The write policy read the same version: reuse what it read.
                let (record, changes) = match policy.take_checked(w.doc.id(), &heads) {
                    Some(c) => (c.record, c.changes),
                    None => {
                        let before = parse_heads(prev_heads.as_deref().unwrap_or_default())
                            .map_err(|e| CoreError::Corrupt {
                                doc: id.clone(),
                                reason: format!("its stored heads do not parse: {e}"),
                            })?;
                        let changes = w
                            .doc
                            .automerge_mut()
                            .get_changes(&before)
                            .iter()
                            .map(|c| (c.hash().to_string(), c.actor_id().to_hex_string()))
                            .collect();
                        (w.doc.read(), changes)
                    }
                };
                commit.docs.push(AcceptedDoc {
                    id: w.doc.id().clone(),
                    bytes,
                    heads: heads_hex(&heads),
                    prev_heads,
                    changes,
                    record,
                });
            }
            commit.peer_states.push((id, w.state));
        }
        Ok::<_, CoreError>((reply, commit))
    })
    .await
    .map_err(SyncError::internal)?
    .map_err(SyncError::internal)
}

/// Why a server-side edit was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ServerEditError {
    #[error("the document is not on the server")]
    NoDocument,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    /// The document kept changing under the edit (phones syncing).
    #[error("document {0} kept changing; try again")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(#[source] anyhow::Error),
}

impl ServerEditError {
    fn internal(e: impl Into<anyhow::Error>) -> Self {
        ServerEditError::Internal(e.into())
    }
}

/// Why a sync request was not answered (a document's refusal is part of
/// the answer, not one of these).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    BadBatch(String),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(#[source] anyhow::Error),
}

impl SyncError {
    fn internal(e: impl Into<anyhow::Error>) -> Self {
        SyncError::Internal(e.into())
    }
}

impl IntoProblem for SyncError {
    fn into_problem(self) -> Problem {
        match self {
            SyncError::BadBatch(message) => Problem::Invalid {
                code: "bad_batch",
                message,
            },
            SyncError::Access(e) => e.into_problem(),
            SyncError::Store(e) => e.into_problem(),
            SyncError::Internal(e) => Problem::Internal(e),
        }
    }
}

crate::edge_error!(SyncError);

/// Make `edit` to a stored document on behalf of `caller` (the web pages'
/// comments), through the same rules as a phone's change: it is made with
/// an actor registered to the caller's device, checked by the same write
/// policy, logged in the change log, and committed compare-and-set, so it
/// merges with whatever phones send before or after.
pub async fn edit_on_server(
    state: &AppState,
    caller: &Caller,
    id: &DocId,
    edit: sync_core::Edit,
) -> Result<(), ServerEditError> {
    write_on_server(state, caller, id, edit, Opening::No).await
}

/// [`edit_on_server`] for a document the server does not hold yet (an item
/// being issued): its genesis and `edit` are stored together, and if the
/// id is taken meanwhile nothing is (`Store(Stale)`).
pub async fn open_on_server(
    state: &AppState,
    caller: &Caller,
    id: &DocId,
    edit: sync_core::Edit,
) -> Result<(), ServerEditError> {
    write_on_server(state, caller, id, edit, Opening::Item).await
}

/// [`open_on_server`] for a case the public filed (a complaint or a
/// request), which no device may open.
pub async fn open_case_on_server(
    state: &AppState,
    caller: &Caller,
    id: &DocId,
    edit: sync_core::Edit,
) -> Result<(), ServerEditError> {
    write_on_server(state, caller, id, edit, Opening::Case).await
}

/// What a server write does to the stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// Edits one that is stored.
    No,
    /// Opens an item.
    Item,
    /// Opens a case.
    Case,
}

async fn write_on_server(
    state: &AppState,
    caller: &Caller,
    id: &DocId,
    edit: sync_core::Edit,
    opening: Opening,
) -> Result<(), ServerEditError> {
    let new = opening != Opening::No;
    let store = &state.store;
    let mut actors: HashSet<String> = store
        .device_actors(&caller.device_id)
        .await?
        .into_iter()
        .collect();
    if actors.is_empty() {
        // A client that registered no actor (another system over the
        // API): its device gets one, so its writes are attributed to it
        // like a phone's.
        let fresh = Actor::random().to_hex();
        store.add_device_actor(&caller.device_id, &fresh).await?;
        actors.insert(fresh);
    }
    let actor = actors
        .iter()
        .next()
        .and_then(|a| Actor::from_hex(a).ok())
        .ok_or_else(|| {
            ServerEditError::Forbidden("this session has no writer; log in again".into())
        })?;
    let user = sync_core::UserId::parse(&caller.user.id)
        .map_err(|e| ServerEditError::Invalid(e.to_string()))?;
    let policy = DevicePolicy::new(caller.user.id.clone(), caller.user.role, actors);
    let policy = Arc::new(match opening {
        Opening::Case => policy.opening_cases(),
        Opening::No | Opening::Item => policy,
    });
    let key = id.to_string();
    let edit = Arc::new(edit);
    for attempt in 1..=MAX_MERGE_ATTEMPTS {
        let docs = store.load_documents(std::slice::from_ref(&key)).await?;
        let bytes = match (docs.get(&key), new) {
            (Some(d), false) => Some(d.bytes.clone()),
            (None, true) => None,
            (None, false) => return Err(ServerEditError::NoDocument),
            (Some(_), true) => return Err(ServerEditError::Store(StoreError::Stale(key))),
        };
        let (id2, actor2, policy2, edit2, user2) = (
            id.clone(),
            actor.clone(),
            policy.clone(),
            edit.clone(),
            user.clone(),
        );
        let role = caller.user.role;
        let accepted = tokio::task::spawn_blocking(move || {
            let (mut before, mut after) = match &bytes {
                Some(bytes) => {
                    let before = Document::load_stored(id2.clone(), bytes, &actor2)
                        .map_err(ServerEditError::internal)?;
                    let after = before.clone();
                    (before, after)
                }
                None => (
                    Document::empty(id2.clone(), &actor2),
                    Document::create(id2.clone(), &actor2),
                ),
            };
            let prev = before.heads();
            let ctx = sync_core::EditContext {
                user: user2,
                role,
                now_ms: crate::storage::now_ms(),
            };
            after.apply(&edit2, &ctx).map_err(|e| match e {
                CoreError::Validation(v) => ServerEditError::Invalid(v.to_string()),
                CoreError::Forbidden { reason, .. } => ServerEditError::Forbidden(reason),
                other => ServerEditError::Invalid(other.to_string()),
            })?;
            policy2
                .check(&mut before, &mut after, None)
                .map_err(|r| ServerEditError::Forbidden(r.message))?;
            let saved = after.verify_save().map_err(ServerEditError::internal)?;
            let changes = after
                .automerge_mut()
                .get_changes(&prev)
                .iter()
                .map(|c| (c.hash().to_string(), c.actor_id().to_hex_string()))
                .collect();
            Ok::<_, ServerEditError>(AcceptedDoc {
                id: id2,
                bytes: saved,
                heads: heads_hex(&after.heads()),
                prev_heads: bytes.is_some().then(|| heads_hex(&prev)),
                changes,
                record: after.read(),
            })
        })
        .await
        .map_err(ServerEditError::internal)??;
        let commit = SyncCommit {
            docs: vec![accepted],
            peer_states: Vec::new(),
        };
        match store
            .commit_sync(&caller.user.id, &caller.device_id, commit)
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Stale(_)) => {
                tracing::debug!(doc = %key, attempt, "document changed during a server edit; again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServerEditError::Busy(key))
}

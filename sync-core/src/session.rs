//! Sync without I/O: the client's and the server's side of a sync round,
//! over any store, producing and consuming [`Batch`]es.
//!
//! Both sides speak standard Automerge sync messages per document. What we
//! add is the batching and a primed start: each side starts a document's
//! sync from the heads it last knew the other side to have (the persisted
//! Automerge sync state), and sends what the other lacks in its first
//! message instead of first exchanging heads. A week of new documents
//! therefore goes up in one round trip, whole (Automerge's v2 "send the
//! document" message), and the reply acknowledges them. If the primed guess
//! is wrong (the peer lost data), the standard protocol's `need` and reset
//! messages repair it in the following rounds.
//!
//! Guarantees: a request can be lost, duplicated or cut at any point; the
//! next session starts again from persisted state and converges. A reply is
//! only produced after the server store has committed what it accepted.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use automerge::sync::{BloomFilter, Capability, Have, Message, State, SyncDoc};
use automerge::ChangeHash;

use crate::document::{
    admit_message, contain, forget_inflated, Actor, AdmitError, Document, RequestBudget,
};
use crate::error::CoreError;
use crate::ids::DocId;
use crate::protocol::{Batch, BatchEntry, EntryBody};
use crate::validate::MAX_DOC_BYTES;

/// Most documents the client puts in one request; the rest follow in the
/// next round trip.
pub const MAX_DOCS_PER_REQUEST: usize = 1_000;
/// Most rounds one session may take before it gives up (a peer that never
/// settles).
pub const MAX_ROUNDS: u32 = 24;
/// Most changed documents the server pushes in one reply.
pub const MAX_PUSHED_PER_REPLY: usize = 1_000;

/// The refusal code of a document the server had no room for in this
/// request: nothing of it was stored; send it again.
pub const DEFERRED: &str = "deferred";

/// A sync state that assumes the peer has exactly the heads we last knew it
/// to have (none for a document it has never seen), so the first message
/// already carries the changes it lacks.
pub fn primed_state(persisted: Option<&[u8]>) -> State {
    let mut state = persisted
        .and_then(|b| State::decode(b).ok())
        .unwrap_or_default();
    let shared = state.shared_heads.clone();
    state.their_heads = Some(shared.clone());
    state.their_need = Some(Vec::new());
    state.their_have = Some(vec![Have {
        last_sync: shared,
        bloom: BloomFilter::from_hashes(std::iter::empty::<ChangeHash>()),
    }]);
    state.their_capabilities = Some(vec![Capability::MessageV2, Capability::SyncReset]);
    state
}

/// The heads recorded in a persisted sync state.
pub fn persisted_heads(persisted: Option<&[u8]>) -> Vec<ChangeHash> {
    persisted
        .and_then(|b| State::decode(b).ok())
        .map(|s| s.shared_heads)
        .unwrap_or_default()
}

fn generate(doc: &mut Document, state: &mut State) -> Result<Option<Message>, CoreError> {
    let id = doc.id().clone();
    contain(&id, "generate sync message", || {
        Ok::<_, std::convert::Infallible>(doc.automerge_mut().sync().generate_sync_message(state))
    })
}

/// Apply one incoming message. The caller checks the document's identity
/// afterwards: the client refuses a server that sends another document, the
/// server lets its write policy name the rewrite. Returns the message's
/// changes when they were one chunk (a whole document is sent that way).
fn receive(
    doc: &mut Document,
    state: &mut State,
    bytes: &[u8],
) -> Result<Option<Vec<u8>>, CoreError> {
    let id = doc.id().clone();
    let message = contain(&id, "decode sync message", || Message::decode(bytes))?;
    let single = match message.changes.len() {
        1 => message.changes.iter().next().map(<[u8]>::to_vec),
        _ => None,
    };
    contain(&id, "receive sync message", || {
        doc.automerge_mut()
            .sync()
            .receive_sync_message(state, message)
    })?;
    Ok(single)
}

// ---- client ------------------------------------------------------------

/// Does this standard Automerge sync message carry changes (and not only
/// heads and acknowledgements)? For reports: "documents received".
pub fn carries_changes(message: &[u8]) -> bool {
    automerge::sync::Message::decode(message).is_ok_and(|m| !m.changes.is_empty())
}

/// What the client side needs of the phone's store.
pub trait ClientStore {
    fn actor(&self) -> Actor;
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError>;
    /// `id` as it is about to be sent: what the phone kept aside (the text
    /// being typed, see `Replica`) made a change first, and stored.
    fn load_to_send(&mut self, id: &DocId) -> Result<Option<Document>, CoreError>;
    /// The persisted Automerge sync state with the server for `id`.
    fn sync_state(&mut self, id: &DocId) -> Result<Option<Vec<u8>>, CoreError>;
    /// Documents with changes the server has not acknowledged.
    fn pending(&mut self) -> Result<Vec<DocId>, CoreError>;
    fn cursor(&mut self) -> Result<u64, CoreError>;
    /// Store what one reply brought, atomically and durably.
    fn commit_sync(&mut self, writes: ClientWrites) -> Result<(), CoreError>;
}

/// One document after a reply was applied.
#[derive(Debug)]
pub struct ClientDocWrite {
    pub doc: Document,
    /// The encoded sync state (shared heads) to persist.
    pub state: Vec<u8>,
    /// The server has everything this replica has.
    pub synced: bool,
    /// The document's heads when the session loaded it (`None`: it was not
    /// in the store). A store that lets edits in while a reply is applied
    /// (the phone's reads and edits do not wait on a sync) merges `doc` into
    /// what it holds when its heads moved on meanwhile, and keeps the
    /// document pending.
    pub base: Option<Vec<ChangeHash>>,
}

#[derive(Debug, Default)]
pub struct ClientWrites {
    pub docs: Vec<ClientDocWrite>,
    pub cursor: u64,
}

/// A document the server refused, or that failed on this side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocProblem {
    pub doc: DocId,
    pub code: String,
    pub message: String,
}

/// Counters of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    pub round_trips: u32,
    pub docs_sent: u64,
    pub docs_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// One `sync()` of the phone: call [`ClientSession::next_request`], send the
/// batch, give the reply to [`ClientSession::handle_reply`], until
/// `next_request` returns `None`. If a request fails, drop the session; the
/// next one starts from what is persisted.
#[derive(Debug, Default)]
pub struct ClientSession {
    states: BTreeMap<DocId, State>,
    /// Documents left alone for the rest of this session (refused, failed).
    set_aside: BTreeSet<DocId>,
    cursor: u64,
    more: bool,
    backlog: bool,
    problems: Vec<DocProblem>,
    stats: SyncStats,
}

impl ClientSession {
    pub fn new(store: &mut impl ClientStore) -> Result<Self, CoreError> {
        Ok(Self {
            cursor: store.cursor()?,
            ..Self::default()
        })
    }

    pub fn stats(&self) -> &SyncStats {
        &self.stats
    }

    /// Documents refused by the server or failing here, this session.
    pub fn problems(&self) -> &[DocProblem] {
        &self.problems
    }

    fn set_aside(&mut self, doc: DocId, code: &str, message: String) {
        self.states.remove(&doc);
        self.set_aside.insert(doc.clone());
        self.problems.push(DocProblem {
            doc,
            code: code.to_owned(),
            message,
        });
    }

    /// The next request, or `None` when the session is complete.
    pub fn next_request(
        &mut self,
        store: &mut impl ClientStore,
    ) -> Result<Option<Batch>, CoreError> {
        if self.stats.round_trips >= MAX_ROUNDS {
            return Err(CoreError::Unsettled { rounds: MAX_ROUNDS });
        }
        let mut ids: BTreeSet<DocId> = self.states.keys().cloned().collect();
        ids.extend(store.pending()?);
        let mut entries = Vec::new();
        self.backlog = false;
        // What the server admits in one request, counted as it counts: a
        // message it would only defer waits for the next request instead
        // of travelling twice.
        let mut budget = RequestBudget::per_request();
        for id in ids {
            if self.set_aside.contains(&id) {
                continue;
            }
            if entries.len() >= MAX_DOCS_PER_REQUEST {
                self.backlog = true;
                break;
            }
            let Some(mut doc) = store.load_to_send(&id)? else {
                continue;
            };
            let state = match self.states.entry(id.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => {
                    let persisted = store.sync_state(&id)?;
                    v.insert(primed_state(persisted.as_deref()))
                }
            };
            match generate(&mut doc, state) {
                Ok(Some(m)) => {
                    let bytes = m.encode();
                    let deferred = matches!(
                        admit_message(&bytes, &mut budget),
                        Err(AdmitError::Deferred { .. })
                    );
                    if deferred && !entries.is_empty() {
                        // Not sent: the next request primes it afresh
                        // from what is persisted, as after a deferral.
                        self.states.remove(&id);
                        self.backlog = true;
                        break;
                    }
                    // A message over one document's bounds goes anyway:
                    // the server's refusal names it for the app.
                    entries.push(BatchEntry {
                        doc: id,
                        body: EntryBody::Sync(bytes),
                    });
                }
                Ok(None) => {}
                Err(e) => self.set_aside(id, "local_error", e.to_string()),
            }
        }
        // The columns the count inflated are kept for a load that does not
        // come on the phone.
        forget_inflated();
        if entries.is_empty() && self.stats.round_trips > 0 && !self.more && !self.backlog {
            return Ok(None);
        }
        self.stats.round_trips += 1;
        self.stats.docs_sent += entries.len() as u64;
        let batch = Batch {
            cursor: self.cursor,
            more: false,
            reads_items: true,
            entries,
        };
        Ok(Some(batch))
    }

    /// Apply the server's reply and persist it.
    pub fn handle_reply(
        &mut self,
        store: &mut impl ClientStore,
        reply: Batch,
    ) -> Result<(), CoreError> {
        let actor = store.actor();
        let mut writes = ClientWrites {
            docs: Vec::new(),
            cursor: reply.cursor,
        };
        for entry in reply.entries {
            let id = entry.doc;
            match entry.body {
                // The server's request was full: the document goes again
                // in the next round, primed afresh from what is persisted.
                EntryBody::Refused { code, .. } if code == DEFERRED => {
                    self.states.remove(&id);
                }
                EntryBody::Refused { code, message } => self.set_aside(id, &code, message),
                EntryBody::Sync(bytes) => {
                    if self.set_aside.contains(&id) {
                        continue;
                    }
                    self.stats.docs_received += 1;
                    let (mut doc, base) = match store.load(&id)? {
                        Some(mut d) => {
                            let heads = d.heads();
                            (d, Some(heads))
                        }
                        None => (Document::empty(id.clone(), &actor), None),
                    };
                    let state = match self.states.entry(id.clone()) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(v) => {
                            let persisted = store.sync_state(&id)?;
                            v.insert(primed_state(persisted.as_deref()))
                        }
                    };
                    let before = doc.heads();
                    let received = receive(&mut doc, state, &bytes)
                        .and_then(|_| doc.check_identity())
                        .and_then(|_| {
                            if doc.heads() != before {
                                doc.verify_save().map(|_| ())
                            } else {
                                Ok(())
                            }
                        });
                    if let Err(e) = received {
                        self.set_aside(id, "bad_message", e.to_string());
                        continue;
                    }
                    let synced = state.their_heads.as_deref() == Some(&doc.heads()[..]);
                    let state = state.encode();
                    writes.docs.push(ClientDocWrite {
                        doc,
                        state,
                        synced,
                        base,
                    });
                }
            }
        }
        self.cursor = reply.cursor;
        self.more = reply.more;
        store.commit_sync(writes)
    }

    /// Count bytes moved, for reports (the transport knows them).
    pub fn record_bytes(&mut self, sent: usize, received: usize) {
        self.stats.bytes_sent += sent as u64;
        self.stats.bytes_received += received as u64;
    }
}

// ---- server ------------------------------------------------------------

/// A refusal of one document's incoming changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

/// The server's write rules: may this peer turn `before` into `after`?
/// `arrived_whole`: when `before` was empty, the bytes `after` was loaded
/// from if they came as one piece (a new document's first sync message
/// carries the sender's save); [`Document::new_ops`] reads the new
/// operations from them without rebuilding every change.
pub trait WritePolicy {
    fn check(
        &self,
        before: &mut Document,
        after: &mut Document,
        arrived_whole: Option<&[u8]>,
    ) -> Result<(), Refusal>;
}

/// Accept everything (tests of the protocol alone).
pub struct AllowAll;
impl WritePolicy for AllowAll {
    fn check(&self, _: &mut Document, _: &mut Document, _: Option<&[u8]>) -> Result<(), Refusal> {
        Ok(())
    }
}

/// Documents changed since a cursor, in a peer's read scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub docs: Vec<DocId>,
    /// The cursor covering what `docs` covers.
    pub cursor: u64,
    pub more: bool,
}

#[derive(Debug)]
pub struct ServerDocWrite {
    pub doc: Document,
    /// When the document gained changes: its full save, checked to load
    /// again (store it). `None`: only the sync state moves.
    pub saved: Option<Vec<u8>>,
    pub state: Vec<u8>,
}

/// What the server side needs of the server's store.
pub trait ServerStore {
    /// The server's own actor (it never writes content; used for empty docs).
    fn actor(&self) -> Actor;
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError>;
    fn peer_state(&mut self, peer: &str, id: &DocId) -> Result<Option<Vec<u8>>, CoreError>;
    fn changed_since(
        &mut self,
        peer: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Changed, CoreError>;
    /// Store accepted documents and peer states, durably, before the reply.
    fn commit(&mut self, peer: &str, writes: Vec<ServerDocWrite>) -> Result<(), CoreError>;
}

fn refused(doc: DocId, code: &str, message: impl Into<String>) -> BatchEntry {
    BatchEntry {
        doc,
        body: EntryBody::Refused {
            code: code.to_owned(),
            message: message.into(),
        },
    }
}

/// Answer one request from `peer`: apply what is allowed, refuse the rest
/// per document, add what changed in the peer's scope, commit, reply.
pub fn serve(
    store: &mut impl ServerStore,
    policy: &impl WritePolicy,
    peer: &str,
    request: &Batch,
) -> Result<Batch, CoreError> {
    let actor = store.actor();
    let mut reply = Vec::new();
    let mut writes = Vec::new();
    let mut mentioned = BTreeSet::new();
    let mut budget = RequestBudget::per_request();
    for entry in &request.entries {
        let id = entry.doc.clone();
        mentioned.insert(id.clone());
        let EntryBody::Sync(bytes) = &entry.body else {
            continue;
        };
        // What loading the message would make is counted first, within
        // bounds per document and per request (`admit.rs`).
        if let Err(e) = admit_message(bytes, &mut budget) {
            reply.push(refused(id, e.code(), e.to_string()));
            continue;
        }
        let mut before = match store.load(&id)? {
            Some(d) => d,
            None => Document::empty(id.clone(), &actor),
        };
        let before_heads = before.heads();
        let mut after = before.clone();
        let persisted = store.peer_state(peer, &id)?;
        let mut state = primed_state(persisted.as_deref());
        let chunk = match receive(&mut after, &mut state, bytes) {
            Ok(chunk) => chunk,
            Err(e) => {
                reply.push(refused(id, "bad_message", e.to_string()));
                continue;
            }
        };
        let changed = after.heads() != before_heads;
        let arrived_whole = chunk.as_deref().filter(|_| before_heads.is_empty());
        if changed {
            if let Err(r) = policy.check(&mut before, &mut after, arrived_whole) {
                reply.push(refused(id, &r.code, r.message));
                continue;
            }
            if let Err(e) = after.check_identity() {
                reply.push(refused(id, "forbidden_change", e.to_string()));
                continue;
            }
        }
        let saved = if changed {
            // A new document arrives whole, as the sender's save: those
            // bytes are stored as they came (no save, no reload).
            let verified = match arrived_whole {
                Some(loaded) => after.verify_save_of_loaded(loaded),
                None => after.verify_save(),
            };
            match verified {
                Ok(bytes) if bytes.len() > MAX_DOC_BYTES => {
                    reply.push(refused(
                        id,
                        "document_full",
                        format!(
                            "the document would be {} bytes saved; at most {MAX_DOC_BYTES}",
                            bytes.len()
                        ),
                    ));
                    continue;
                }
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    reply.push(refused(id, "bad_message", e.to_string()));
                    continue;
                }
            }
        } else {
            None
        };
        match generate(&mut after, &mut state) {
            Ok(Some(m)) => reply.push(BatchEntry {
                doc: id,
                body: EntryBody::Sync(m.encode()),
            }),
            Ok(None) => {}
            Err(e) => {
                reply.push(refused(id, "bad_message", e.to_string()));
                continue;
            }
        }
        writes.push(ServerDocWrite {
            doc: after,
            saved,
            state: state.encode(),
        });
    }
    let changed = store.changed_since(peer, request.cursor, MAX_PUSHED_PER_REPLY)?;
    for id in changed.docs {
        if mentioned.contains(&id) {
            continue;
        }
        let Some(mut doc) = store.load(&id)? else {
            continue;
        };
        let persisted = store.peer_state(peer, &id)?;
        if persisted_heads(persisted.as_deref()) == doc.heads() {
            continue;
        }
        let mut state = primed_state(persisted.as_deref());
        if let Ok(Some(m)) = generate(&mut doc, &mut state) {
            reply.push(BatchEntry {
                doc: id,
                body: EntryBody::Sync(m.encode()),
            });
        }
    }
    // What the admission check kept for the scans is not needed now.
    crate::document::forget_inflated();
    store.commit(peer, writes)?;
    Ok(Batch {
        cursor: changed.cursor.max(request.cursor),
        more: changed.more,
        reads_items: false,
        entries: reply,
    })
}

//! A deterministic simulation of the sync protocol: every run is one seed.
//!
//! Two to four replicas (the cadre `u1`'s phones and, with three or more, a
//! supervisor who comments) and the server live in one process, on the real
//! stores (`MemoryReplica`, `MemoryServer`) and the real sessions
//! (`ClientSession`, `serve`), every message encoded and decoded. The seed
//! decides everything: how many replicas and diaries, the actors and item
//! ids, the edits, and what the network and the machines do between them:
//! which message in flight arrives next (reordering), requests dropped,
//! duplicated or replayed long after, replies dropped or handed late to a
//! later round, the server crashing between rounds or after it committed but
//! before its reply left, a phone crashing with its sync states kept or lost,
//! the server losing a device's sync states or going back to older ones, a
//! phone restored from an older backup (once it has nothing left to send,
//! so that nothing is lost by the restore itself) as a new device.
//!
//! Checked throughout: a document a replica holds as synced (not pending) is
//! on the server with every change the replica has — what the server
//! acknowledged, it keeps. Checked at the end, after the network heals and
//! every replica syncs reliably: every replica holds what the server holds,
//! nothing is left pending, and the values are what the oracle (`oracle.rs`)
//! expects.
//!
//! Seeds: `JISHI_SIM_SEEDS` (default 2,000; CI runs 100,000), split over the
//! cores. `JISHI_SIM_SEED=N` replays seed `N` alone and prints its history.
//! Same seed, same history: every choice comes from proptest's ChaCha
//! generator seeded with the seed, whose stream proptest keeps the same
//! across versions (so a recorded seed means the same run for ever), and no
//! choice depends on a hash map's order or on the clock.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use automerge::ReadDoc;
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::{Batch, EntryBody};
use sync_core::session::{
    carries_changes, serve, AllowAll, Changed, ClientSession, ClientStore, ServerDocWrite,
    ServerStore,
};
use sync_core::{Actor, CoreError, DocId, Document, ItemId};

use crate::oracle::{replica_context, EditOp, Oracle, CATEGORIES};

/// Seeds run by default (`cargo test` stays fast).
const DEFAULT_SEEDS: u64 = 2_000;
/// Seeds that once found a bug; run on every `cargo test`.
const REGRESSION_SEEDS: &[u64] = &[];

/// The seed's stream of choices: proptest's ChaCha generator, which proptest
/// promises gives the same values for the same seed on every system and in
/// every version (its persisted failures replay with it).
struct Rng(TestRng);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        Self(TestRng::from_seed(RngAlgorithm::ChaCha, &key))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// An index into `weights`, each chosen in proportion to its weight.
    fn weighted<T: Copy>(&mut self, weights: &[(u32, T)]) -> T {
        let total: u32 = weights.iter().map(|(w, _)| w).sum();
        let mut x = self.below(total as usize) as u32;
        for &(w, v) in weights {
            if x < w {
                return v;
            }
            x -= w;
        }
        unreachable!("x < total")
    }
}

/// A deliberate bug, to show that the simulation catches one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    /// Every fourth commit stores nothing, and the reply is sent anyway.
    ForgetCommits,
}

/// What a run simulates besides the system as it is.
#[derive(Debug, Clone, Copy, Default)]
struct Setup {
    mutation: Option<Mutation>,
    /// A phone restored from a backup of its replica stays the same device
    /// with the same Automerge actor, as when the OS restores the app's
    /// folder. Off, the restored phone starts as a new device: a new actor,
    /// its documents kept and all marked unsynced, no sync state or cursor,
    /// and no sync state of it on the server. On, the simulation finds a
    /// known gap (see
    /// `a_phone_restored_from_a_backup_as_the_same_device_gets_everything_back`).
    restore_keeps_device: bool,
}

/// The server's store: `MemoryServer`, unchanged unless a mutation is on.
struct SimServer {
    store: MemoryServer,
    mutation: Option<Mutation>,
    commits: u64,
}

impl ServerStore for SimServer {
    fn actor(&self) -> Actor {
        self.store.actor()
    }
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.store.load(id)
    }
    fn peer_state(&mut self, peer: &str, id: &DocId) -> Result<Option<Vec<u8>>, CoreError> {
        self.store.peer_state(peer, id)
    }
    fn changed_since(
        &mut self,
        peer: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Changed, CoreError> {
        self.store.changed_since(peer, cursor, limit)
    }
    fn commit(&mut self, peer: &str, writes: Vec<ServerDocWrite>) -> Result<(), CoreError> {
        self.commits += 1;
        if self.mutation == Some(Mutation::ForgetCommits) && self.commits.is_multiple_of(4) {
            return Ok(());
        }
        self.store.commit(peer, writes)
    }
}

/// What goes wrong, counted by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// A message delivered while an older one is still in flight.
    Reordered,
    DropRequest,
    DropReply,
    DuplicateRequest,
    /// A request sent earlier (any round, any session) arrives again.
    ReplayRequest,
    /// A session takes an older reply for the answer to its request.
    LateReply,
    /// The server commits, then crashes before the reply leaves.
    CommitThenCrash,
    ServerCrash,
    ClientCrash,
    ClientCrashLosingStates,
    /// The server has no sync state for the device any more.
    ServerStateLost,
    /// The server's sync states of the device go back to older ones.
    ServerStateStale,
    /// The phone is restored from an older backup of its store.
    RestoreBackup,
    /// A session waiting for a reply gives up.
    Timeout,
}

const FAULTS: [Fault; 14] = [
    Fault::Reordered,
    Fault::DropRequest,
    Fault::DropReply,
    Fault::DuplicateRequest,
    Fault::ReplayRequest,
    Fault::LateReply,
    Fault::CommitThenCrash,
    Fault::ServerCrash,
    Fault::ClientCrash,
    Fault::ClientCrashLosingStates,
    Fault::ServerStateLost,
    Fault::ServerStateStale,
    Fault::RestoreBackup,
    Fault::Timeout,
];

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Reordered => "reordered",
            Fault::DropRequest => "request dropped",
            Fault::DropReply => "reply dropped",
            Fault::DuplicateRequest => "request duplicated",
            Fault::ReplayRequest => "old request replayed",
            Fault::LateReply => "late reply taken",
            Fault::CommitThenCrash => "server crash after commit, before reply",
            Fault::ServerCrash => "server crash between rounds",
            Fault::ClientCrash => "phone crash",
            Fault::ClientCrashLosingStates => "phone crash losing sync states",
            Fault::ServerStateLost => "server sync state lost",
            Fault::ServerStateStale => "server sync state stale",
            Fault::RestoreBackup => "phone restored from backup",
            Fault::Timeout => "session timed out",
        }
    }
}

/// Totals of one or many runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counts {
    seeds: u64,
    steps: u64,
    edits: u64,
    round_trips: u64,
    faults: [u64; FAULTS.len()],
}

impl Counts {
    fn fault(&mut self, f: Fault) {
        self.faults[f as usize] += 1;
    }

    fn add(&mut self, other: &Counts) {
        self.seeds += other.seeds;
        self.steps += other.steps;
        self.edits += other.edits;
        self.round_trips += other.round_trips;
        for (a, b) in self.faults.iter_mut().zip(other.faults) {
            *a += b;
        }
    }
}

enum Message {
    Request {
        from: usize,
        /// Which device phone `from` was when it sent this.
        device: u32,
        req: u64,
        bytes: Vec<u8>,
    },
    Reply {
        to: usize,
        req: u64,
        bytes: Vec<u8>,
    },
}

/// A session in progress, waiting for the reply to request `awaiting`.
struct Live {
    session: ClientSession,
    awaiting: Option<u64>,
}

/// What the simulation knows of one phone besides its store.
#[derive(Default)]
struct Phone {
    live: Option<Live>,
    /// The device the phone is to the server: a restore as a new device
    /// makes a new one.
    device: u32,
    /// Which of the server's sync-state sets for the phone is in use (the
    /// server keys sync states by peer name: a new name is a server that
    /// lost them, an older name one that went back).
    peer: u32,
    peers: u32,
    backup: Option<MemoryReplica>,
    /// The actor's bytes; a restore as a new device changes the last but one.
    actor: [u8; 16],
    /// The latest replies the server made for this device.
    replies: Vec<(u64, Vec<u8>)>,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Edit,
    Phone,
    Deliver,
    Drop,
    Duplicate,
    Replay,
    LateReply,
    CommitThenCrash,
    ServerCrash,
    ClientCrash,
    ServerState,
    Backup,
    Restore,
    Timeout,
}

/// Steps between the first edit and the final reliable sync.
const STEPS: std::ops::Range<usize> = 16..30;

const ACTIONS: &[(u32, Action)] = &[
    (18, Action::Edit),
    (16, Action::Phone),
    (20, Action::Deliver),
    (2, Action::Drop),
    (2, Action::Duplicate),
    (1, Action::Replay),
    (1, Action::LateReply),
    (2, Action::CommitThenCrash),
    (1, Action::ServerCrash),
    (2, Action::ClientCrash),
    (2, Action::ServerState),
    (2, Action::Backup),
    (2, Action::Restore),
    (2, Action::Timeout),
];

const EDITS: &[(u32, u8)] = &[(3, 0), (4, 1), (2, 2), (1, 3), (1, 4), (2, 5), (1, 6)];

struct Sim {
    rng: Rng,
    /// Keep the history (a readable line a step).
    tracing: bool,
    restore_keeps_device: bool,
    server: SimServer,
    replicas: Vec<MemoryReplica>,
    phones: Vec<Phone>,
    oracle: Oracle,
    net: Vec<Message>,
    /// Every request sent: (from, device, number, bytes).
    requests: Vec<(usize, u32, u64, Vec<u8>)>,
    next_req: u64,
    next_item: u64,
    step: usize,
    trace: Vec<String>,
    counts: Counts,
}

/// One seed's run: its history and, if it failed, why.
struct Outcome {
    trace: Vec<String>,
    counts: Counts,
    result: Result<(), String>,
}

/// Run one seed; with `tracing`, keep its history.
fn run_seed(seed: u64, setup: Setup, tracing: bool) -> Outcome {
    let mut sim = Sim::new(seed, setup);
    sim.tracing = tracing;
    let result = match catch_unwind(AssertUnwindSafe(|| sim.run())) {
        Ok(r) => r,
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    };
    if let Err(e) = &result {
        sim.trace.push(format!("VIOLATION: {e}"));
    }
    sim.counts.seeds = 1;
    Outcome {
        trace: sim.trace,
        counts: sim.counts,
        result,
    }
}

fn describe(batch: &Batch, bytes: usize) -> String {
    let mut docs = Vec::new();
    for e in &batch.entries {
        docs.push(match &e.body {
            EntryBody::Sync(m) if carries_changes(m) => format!("{} +changes", e.doc),
            EntryBody::Sync(_) => format!("{}", e.doc),
            EntryBody::Refused { code, .. } => format!("{} REFUSED {code}", e.doc),
        });
    }
    format!(
        "cursor {}{}, {bytes} B, [{}]",
        batch.cursor,
        if batch.more { " more" } else { "" },
        docs.join(", ")
    )
}

impl Sim {
    fn new(seed: u64, setup: Setup) -> Self {
        let mut rng = Rng::new(seed);
        let n = 2 + rng.below(3);
        let docs = 2 + rng.below(2);
        let actors: Vec<[u8; 16]> = (0..n)
            .map(|r| {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&rng.next().to_be_bytes());
                bytes[8..].copy_from_slice(&rng.next().to_be_bytes());
                (bytes[14], bytes[15]) = (0, r as u8);
                bytes
            })
            .collect();
        let replicas = actors
            .iter()
            .map(|a| MemoryReplica::new(Actor::from_bytes(a).unwrap()))
            .collect();
        Self {
            rng,
            tracing: false,
            restore_keeps_device: setup.restore_keeps_device,
            server: SimServer {
                store: MemoryServer::new(),
                mutation: setup.mutation,
                commits: 0,
            },
            replicas,
            phones: actors
                .into_iter()
                .map(|actor| Phone {
                    peers: 1,
                    actor,
                    ..Phone::default()
                })
                .collect(),
            oracle: Oracle::new(docs),
            net: Vec::new(),
            requests: Vec::new(),
            next_req: 0,
            next_item: 0,
            step: 0,
            trace: vec![format!(
                "seed {seed}: {n} replicas{}, {docs} diaries, {setup:?}",
                if n >= 3 {
                    " (the last a supervisor's)"
                } else {
                    ""
                },
            )],
            counts: Counts::default(),
        }
    }

    /// Add a line to the history, if it is kept (the lines are made only
    /// then: a failing seed runs again with the history on).
    fn log(&mut self, what: impl FnOnce() -> String) {
        if self.tracing {
            let line = format!("{:>3} {}", self.step, what());
            self.trace.push(line);
        }
    }

    fn fault(&mut self, f: Fault, what: impl FnOnce() -> String) {
        self.counts.fault(f);
        self.log(|| format!("FAULT {}: {}", f.name(), what()));
    }

    fn awaiting(&self, r: usize) -> Option<u64> {
        self.phones[r].live.as_ref().and_then(|l| l.awaiting)
    }

    /// The server's name for device `device` of phone `r`.
    fn peer(&self, r: usize, device: u32) -> String {
        format!("dev{r}-{device}.{}", self.phones[r].peer)
    }

    fn run(&mut self) -> Result<(), String> {
        let steps = STEPS.start + self.rng.below(STEPS.len());
        while self.step < steps {
            self.step += 1;
            self.counts.steps += 1;
            self.act()?;
        }
        self.step += 1;
        self.settle()
    }

    fn act(&mut self) -> Result<(), String> {
        let n = self.replicas.len();
        let r = self.rng.below(n);
        let action = self.rng.weighted(ACTIONS);
        let requests: Vec<usize> = (0..self.net.len())
            .filter(|&i| matches!(self.net[i], Message::Request { .. }))
            .collect();
        match action {
            Action::Edit => self.edit(r),
            Action::Phone | Action::Deliver | Action::Drop if self.net.is_empty() => {
                return self.phone(r)
            }
            Action::Phone if self.awaiting(r).is_none() => return self.phone(r),
            Action::Timeout => {
                let Some(req) = self.awaiting(r) else {
                    return self.phone(r);
                };
                self.phones[r].live = None;
                self.fault(Fault::Timeout, || {
                    format!("r{r} gives up waiting for #{req}")
                });
            }
            // A phone that waits for a reply waits for the network.
            Action::Phone | Action::Deliver => {
                let i = self.rng.below(self.net.len());
                if i > 0 {
                    self.fault(Fault::Reordered, || {
                        format!("{i} older messages still in flight")
                    });
                }
                let m = self.net.remove(i);
                return self.deliver(m, false);
            }
            Action::Drop => {
                let i = self.rng.below(self.net.len());
                match self.net.remove(i) {
                    Message::Request { from, req, .. } => {
                        self.fault(Fault::DropRequest, || format!("#{req} of r{from}"))
                    }
                    Message::Reply { to, req, .. } => {
                        self.fault(Fault::DropReply, || format!("#{req} to r{to}"))
                    }
                }
            }
            Action::Duplicate | Action::CommitThenCrash if requests.is_empty() => {
                return self.phone(r)
            }
            Action::Duplicate => {
                let i = requests[self.rng.below(requests.len())];
                let Message::Request {
                    from,
                    device,
                    req,
                    bytes,
                } = &self.net[i]
                else {
                    unreachable!("a request")
                };
                let (from, device, req, bytes) = (*from, *device, *req, bytes.clone());
                self.net.push(Message::Request {
                    from,
                    device,
                    req,
                    bytes,
                });
                self.fault(Fault::DuplicateRequest, || format!("#{req} of r{from}"));
            }
            Action::CommitThenCrash => {
                let i = requests[self.rng.below(requests.len())];
                let m = self.net.remove(i);
                return self.deliver(m, true);
            }
            Action::Replay if self.requests.is_empty() => return self.phone(r),
            Action::Replay => {
                let (from, device, req, bytes) =
                    self.requests[self.rng.below(self.requests.len())].clone();
                self.fault(Fault::ReplayRequest, || format!("#{req} of r{from} again"));
                let request = Message::Request {
                    from,
                    device,
                    req,
                    bytes,
                };
                return self.deliver(request, false);
            }
            Action::LateReply => {
                let awaiting = self.awaiting(r);
                let old: Vec<_> = self.phones[r]
                    .replies
                    .iter()
                    .filter(|(req, _)| Some(*req) != awaiting)
                    .cloned()
                    .collect();
                let Some(awaiting) = awaiting.filter(|_| !old.is_empty()) else {
                    return self.phone(r);
                };
                let (req, bytes) = old[self.rng.below(old.len())].clone();
                self.fault(Fault::LateReply, || {
                    format!("r{r} takes reply #{req} for the answer to #{awaiting}")
                });
                return self.handle_reply(r, &bytes);
            }
            Action::ServerCrash => {
                self.server.store.restart();
                self.fault(Fault::ServerCrash, || "the server restarts".into());
                return self.check_all_acknowledged();
            }
            Action::ClientCrash => {
                self.phones[r].live = None;
                let keep = self.rng.coin();
                self.replicas[r].restart(keep);
                if keep {
                    self.fault(Fault::ClientCrash, || format!("r{r} restarts"));
                } else {
                    self.fault(Fault::ClientCrashLosingStates, || {
                        format!("r{r} restarts without its sync states")
                    });
                }
            }
            Action::ServerState => {
                let phone = &mut self.phones[r];
                if phone.peers > 1 && self.rng.coin() {
                    let mut older = self.rng.below(phone.peers as usize - 1) as u32;
                    if older >= phone.peer {
                        older += 1;
                    }
                    phone.peer = older;
                    let peer = self.peer(r, self.phones[r].device);
                    self.fault(Fault::ServerStateStale, || {
                        format!("the server's sync states of r{r} are those of {peer}")
                    });
                } else {
                    phone.peer = phone.peers;
                    phone.peers += 1;
                    let peer = self.peer(r, self.phones[r].device);
                    self.fault(Fault::ServerStateLost, || {
                        format!("the server lost the sync states of r{r} (now {peer})")
                    });
                }
            }
            Action::Backup => {
                self.phones[r].backup = Some(self.replicas[r].clone());
                self.log(|| format!("r{r} is backed up"));
            }
            Action::Restore => {
                let pending = self.replicas[r].pending().map_err(|e| e.to_string())?;
                let Some(backup) = self.phones[r].backup.clone().filter(|_| pending.is_empty())
                else {
                    return self.phone(r);
                };
                self.phones[r].live = None;
                let what = if self.restore_keeps_device {
                    self.replicas[r] = backup;
                    "the same device and actor".to_owned()
                } else {
                    self.replicas[r] = self.as_new_device(r, backup)?;
                    format!("a new device, {}", self.peer(r, self.phones[r].device))
                };
                self.replicas[r].restart(true);
                self.fault(Fault::RestoreBackup, || {
                    format!("r{r}, with nothing pending, is restored from its backup as {what}")
                });
                return self.check_acknowledged(r, None);
            }
        }
        Ok(())
    }

    /// The store of phone `r` restored from `backup` as a new device: the
    /// documents, all to be sent, under a new actor; the server has no sync
    /// state of the new device.
    fn as_new_device(
        &mut self,
        r: usize,
        mut backup: MemoryReplica,
    ) -> Result<MemoryReplica, String> {
        let phone = &mut self.phones[r];
        phone.actor[14] += 1;
        phone.device += 1;
        phone.replies.clear();
        let mut fresh = MemoryReplica::new(Actor::from_bytes(&phone.actor).unwrap());
        for id in backup.doc_ids() {
            let doc = backup.document(&id).map_err(|e| e.to_string())?;
            fresh.insert_raw(doc.expect("listed"));
        }
        Ok(fresh)
    }

    fn edit(&mut self, r: usize) {
        let n = self.replicas.len();
        let doc = self.rng.below(self.oracle.docs().len());
        let (pick, at) = (self.rng.next() as usize, self.rng.next() as usize);
        let op = match self.rng.weighted(EDITS) {
            0 => EditOp::AddEntry,
            1 => EditOp::InsertToken { pick, at },
            2 => EditOp::DeleteToken { pick, which: at },
            3 => EditOp::DeleteEntry { pick },
            4 => EditOp::SetCategory {
                pick,
                cat: at % CATEGORIES.len(),
            },
            5 => EditOp::SummaryToken { at },
            _ => EditOp::Comment,
        };
        let ctx = replica_context(r, n);
        let next_item = &mut self.next_item;
        let new_id = || {
            *next_item += 1;
            ItemId::parse(&format!("i{next_item}")).unwrap()
        };
        match self
            .oracle
            .edit(&mut self.replicas[r], doc, &ctx, &op, new_id)
        {
            Some(done) => {
                self.counts.edits += 1;
                self.log(|| format!("r{r} edits {done}"));
            }
            None => self.log(|| format!("r{r} has nothing to {op:?} in doc {doc}")),
        }
    }

    /// Phone `r` moves its sync on: starts a session or sends the next
    /// request (a phone waiting for a reply does not come here).
    fn phone(&mut self, r: usize) -> Result<(), String> {
        if let Some(req) = self.awaiting(r) {
            self.log(|| format!("r{r} waits for #{req}"));
            return Ok(());
        }
        match &self.phones[r].live {
            None => {
                let session = ClientSession::new(&mut self.replicas[r])
                    .map_err(|e| format!("r{r} cannot start a session: {e}"))?;
                self.phones[r].live = Some(Live {
                    session,
                    awaiting: None,
                });
                self.log(|| format!("r{r} starts a session"));
                self.send_next(r)
            }
            Some(_) => self.send_next(r),
        }
    }

    fn send_next(&mut self, r: usize) -> Result<(), String> {
        let live = self.phones[r].live.as_mut().expect("a live session");
        match live.session.next_request(&mut self.replicas[r]) {
            Ok(None) => {
                let rounds = live.session.stats().round_trips;
                self.phones[r].live = None;
                let pending = if self.tracing {
                    self.pending(r)?
                } else {
                    String::new()
                };
                self.log(|| {
                    format!("r{r} session complete in {rounds} round trips, pending [{pending}]")
                });
            }
            Ok(Some(batch)) => {
                let bytes = batch.encode();
                let req = self.next_req;
                self.next_req += 1;
                live.awaiting = Some(req);
                self.counts.round_trips += 1;
                self.log(|| format!("r{r} sends #{req}: {}", describe(&batch, bytes.len())));
                let device = self.phones[r].device;
                self.requests.push((r, device, req, bytes.clone()));
                self.net.push(Message::Request {
                    from: r,
                    device,
                    req,
                    bytes,
                });
            }
            Err(e) => {
                // Only a session that never settles fails here: that is not
                // a loss, but it is a failure to converge.
                self.phones[r].live = None;
                return Err(format!("r{r}'s session failed: {e}"));
            }
        }
        Ok(())
    }

    fn deliver(&mut self, m: Message, crash_after_commit: bool) -> Result<(), String> {
        match m {
            Message::Request {
                from,
                device,
                req,
                bytes,
            } => {
                let peer = self.peer(from, device);
                let request = Batch::decode(&bytes).map_err(|e| format!("request #{req}: {e}"))?;
                let reply = serve(&mut self.server, &AllowAll, &peer, &request)
                    .map_err(|e| format!("the server failed on #{req}: {e}"))?;
                let down = reply.encode();
                let what = match self.tracing {
                    true => format!(
                        "server serves #{req} as {peer}, replies {}",
                        describe(&reply, down.len())
                    ),
                    false => String::new(),
                };
                if crash_after_commit {
                    self.server.store.restart();
                    self.fault(Fault::CommitThenCrash, || {
                        format!("{what}; crashes before the reply leaves")
                    });
                    return self.check_all_acknowledged();
                }
                self.log(|| what);
                let replies = &mut self.phones[from].replies;
                replies.push((req, down.clone()));
                if replies.len() > 4 {
                    replies.remove(0);
                }
                self.net.push(Message::Reply {
                    to: from,
                    req,
                    bytes: down,
                });
            }
            Message::Reply { to, req, bytes } => {
                if self.awaiting(to) != Some(req) {
                    self.log(|| {
                        format!("reply #{req} reaches r{to}, which no longer waits for it")
                    });
                    return Ok(());
                }
                return self.handle_reply(to, &bytes);
            }
        }
        Ok(())
    }

    fn handle_reply(&mut self, r: usize, bytes: &[u8]) -> Result<(), String> {
        let reply = Batch::decode(bytes).map_err(|e| format!("a reply to r{r}: {e}"))?;
        let docs: BTreeSet<DocId> = reply.entries.iter().map(|e| e.doc.clone()).collect();
        let live = self.phones[r].live.as_mut().expect("a waiting session");
        live.awaiting = None;
        live.session
            .handle_reply(&mut self.replicas[r], reply)
            .map_err(|e| format!("r{r} failed on a reply: {e}"))?;
        if !live.session.problems().is_empty() {
            return Err(format!("r{r}'s session: {:?}", live.session.problems()));
        }
        if self.tracing {
            let pending = self.pending(r)?;
            self.log(|| format!("r{r} applies the reply, pending [{pending}]"));
        }
        self.check_acknowledged(r, Some(&docs))
    }

    fn pending(&mut self, r: usize) -> Result<String, String> {
        let pending = self.replicas[r].pending().map_err(|e| e.to_string())?;
        Ok(pending
            .iter()
            .map(DocId::to_string)
            .collect::<Vec<_>>()
            .join(", "))
    }

    /// Every document replica `r` holds as synced is on the server with all
    /// of `r`'s changes. `only`: check these documents (those a reply
    /// touched), not all.
    fn check_acknowledged(
        &mut self,
        r: usize,
        only: Option<&BTreeSet<DocId>>,
    ) -> Result<(), String> {
        let replica = &mut self.replicas[r];
        let pending: BTreeSet<DocId> = replica
            .pending()
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        for id in self.oracle.docs() {
            if pending.contains(id) || only.is_some_and(|o| !o.contains(id)) {
                continue;
            }
            let Some(mut doc) = replica.document(id).map_err(|e| e.to_string())? else {
                continue;
            };
            let heads = doc.heads();
            let on_server = self.server.store.document(id).map_err(|e| e.to_string())?;
            let missing = match &on_server {
                Some(d) => d.automerge().get_missing_deps(&heads),
                None => heads,
            };
            if !missing.is_empty() {
                return Err(format!(
                    "r{r} holds {id} as synced, but the server lacks its changes {missing:?}"
                ));
            }
        }
        Ok(())
    }

    fn check_all_acknowledged(&mut self) -> Result<(), String> {
        (0..self.replicas.len()).try_for_each(|r| self.check_acknowledged(r, None))
    }

    /// The network heals: what is in flight is lost, sessions end, and each
    /// replica syncs reliably, twice round (the first round brings
    /// everything to the server, the second to everyone; the last replica
    /// of the first round has it all already); then the values are checked.
    fn settle(&mut self) -> Result<(), String> {
        let lost = self.net.len();
        self.net.clear();
        for phone in &mut self.phones {
            phone.live = None;
        }
        self.log(|| format!("the network heals ({lost} messages in flight lost)"));
        let n = self.replicas.len();
        for r in (0..n).chain(0..n - 1) {
            // Start a session and send; then serve, reply, send again.
            self.phone(r)?;
            while self.phones[r].live.is_some() {
                for _ in 0..2 {
                    let m = self.net.pop().ok_or("a message went missing")?;
                    self.deliver(m, false)?;
                }
                self.phone(r)?;
            }
        }
        self.oracle
            .check_converged(&mut self.server.store, &mut self.replicas)?;
        if !self.tracing {
            return Ok(());
        }
        let mut heads = String::new();
        for id in self.oracle.docs() {
            if let Some(mut d) = self.server.store.document(id).map_err(|e| e.to_string())? {
                let _ = write!(heads, " {id} {:?}", d.heads());
            }
        }
        self.log(|| format!("converged; heads{heads}"));
        Ok(())
    }
}

/// The result of many seeds.
struct Summary {
    counts: Counts,
    elapsed: Duration,
    /// The smallest failing seed found, with its outcome.
    failure: Option<(u64, Outcome)>,
}

impl Summary {
    fn report(&self) -> String {
        let c = &self.counts;
        let mut out = format!(
            "simulation: {} seeds, {} steps ({} edits, {} round trips) in {:.1?}\nfaults:",
            c.seeds, c.steps, c.edits, c.round_trips, self.elapsed
        );
        for (f, n) in FAULTS.iter().zip(c.faults) {
            let _ = write!(out, "\n  {:>9}  {}", n, f.name());
        }
        out
    }
}

/// Run `seeds` over every core; stop at the first failure.
fn run_seeds(seeds: std::ops::Range<u64>, setup: Setup) -> Summary {
    let start = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let failed = AtomicBool::new(false);
    let failure: Mutex<Option<(u64, Outcome)>> = Mutex::new(None);
    let totals = Mutex::new(Counts::default());
    std::thread::scope(|s| {
        for t in 0..threads {
            let (seeds, failed, failure, totals) = (seeds.clone(), &failed, &failure, &totals);
            s.spawn(move || {
                let mut counts = Counts::default();
                for seed in seeds.skip(t as usize).step_by(threads as usize) {
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let outcome = run_seed(seed, setup, false);
                    counts.add(&outcome.counts);
                    if let Err(e) = &outcome.result {
                        // The same run again, with its history kept.
                        let mut outcome = run_seed(seed, setup, true);
                        if outcome.result.as_ref().err() != Some(e) {
                            outcome.result = Err(format!(
                                "{e}\n(NOT REPRODUCED with the history kept: {:?})",
                                outcome.result
                            ));
                        }
                        failed.store(true, Ordering::Relaxed);
                        let mut f = failure.lock().unwrap();
                        if f.as_ref().is_none_or(|(s, _)| seed < *s) {
                            *f = Some((seed, outcome));
                        }
                        break;
                    }
                }
                totals.lock().unwrap().add(&counts);
            });
        }
    });
    Summary {
        counts: totals.into_inner().unwrap(),
        elapsed: start.elapsed(),
        failure: failure.into_inner().unwrap(),
    }
}

fn failure_report(seed: u64, outcome: &Outcome, test: &str) -> String {
    format!(
        "seed {seed} failed: {}\n\nhistory:\n{}\n\nreplay: JISHI_SIM_SEED={seed} cargo test -p sync-core --test it {test} -- --nocapture --include-ignored",
        outcome.result.as_ref().unwrap_err(),
        outcome.trace.join("\n")
    )
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// The body of a test named `test`: replay `JISHI_SIM_SEED` if set, else
/// run `JISHI_SIM_SEEDS` seeds and then `regressions`.
fn check_seeds(setup: Setup, test: &str, regressions: &[u64]) {
    if let Some(seed) = env_u64("JISHI_SIM_SEED") {
        let outcome = run_seed(seed, setup, true);
        if outcome.result.is_err() {
            panic!("{}", failure_report(seed, &outcome, test));
        }
        println!("{}\nseed {seed} passed", outcome.trace.join("\n"));
        return;
    }
    let seeds = env_u64("JISHI_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let summary = run_seeds(0..seeds, setup);
    println!("{test}: {}", summary.report());
    if let Some((seed, outcome)) = &summary.failure {
        panic!("{}", failure_report(*seed, outcome, test));
    }
    for &seed in regressions {
        let outcome = run_seed(seed, setup, true);
        if outcome.result.is_err() {
            panic!("{}", failure_report(seed, &outcome, test));
        }
    }
}

#[test]
fn simulated_seeds_keep_what_was_acknowledged_and_converge() {
    check_seeds(
        Setup::default(),
        "sim::simulated_seeds_keep_what_was_acknowledged_and_converge",
        REGRESSION_SEEDS,
    );
}

#[test]
fn the_simulation_catches_a_server_that_forgets_to_commit() {
    let setup = Setup {
        mutation: Some(Mutation::ForgetCommits),
        ..Setup::default()
    };
    let summary = run_seeds(0..200, setup);
    let Some((seed, outcome)) = &summary.failure else {
        panic!(
            "no seed of 200 noticed a server that forgets every fourth commit\n{}",
            summary.report()
        );
    };
    println!(
        "the forgetful server is caught by seed {seed}: {}",
        outcome.result.as_ref().unwrap_err()
    );
}

#[test]
fn a_seed_replays_the_same_history() {
    for seed in [1, 7, 42] {
        let a = run_seed(seed, Setup::default(), true);
        let b = run_seed(seed, Setup::default(), true);
        assert_eq!(a.trace, b.trace, "seed {seed}");
        assert_eq!(a.counts, b.counts, "seed {seed}");
        // Keeping the history changes nothing of the run.
        let untraced = run_seed(seed, Setup::default(), false);
        assert_eq!(a.counts, untraced.counts, "seed {seed}");
        assert!(
            a.result.is_ok(),
            "{}",
            failure_report(seed, &a, "sim::a_seed_replays_the_same_history")
        );
    }
}

/// The known gap the simulation found. A phone whose replica is restored
/// from an older backup of itself (the OS restoring the app's folder) is
/// the same device with the same actor, and:
/// - the server's sync states of it still claim what it held before, so the
///   server never sends again a document it thinks the phone has (seed 343:
///   replica 1 never gets back a diary it had synced), and of one that
///   changes it sends only the new changes, which the phone, lacking the
///   document, refuses as `bad_message` on every sync (seed 501);
/// - its next edit reuses a sequence number its actor already used for a
///   change the server holds: the server refuses the document
///   (`duplicate seq`), and the edit made after the restore never reaches
///   it (seed 9241).
#[test]
#[ignore = "known gap: a phone restored from a backup as the same device misses documents"]
fn a_phone_restored_from_a_backup_as_the_same_device_gets_everything_back() {
    let setup = Setup {
        restore_keeps_device: true,
        ..Setup::default()
    };
    check_seeds(
        setup,
        "sim::a_phone_restored_from_a_backup_as_the_same_device_gets_everything_back",
        &[343, 501, 9241],
    );
}

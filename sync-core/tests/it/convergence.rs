//! Convergence, proven against an oracle.
//!
//! 2 to 5 replicas (phones of one cadre, and a supervisor who comments) make
//! random typed edits — entries, concurrent text edits, deletes, comments,
//! summary edits — and sync with one server through encoded batches while the
//! network drops, duplicates and replays requests and replies, and replicas
//! and the server restart (sync state kept, or lost). After a final reliable
//! sync every replica must hold identical values, and those values must be
//! what the oracle (`oracle.rs`) expects.
//!
//! Cases: `PROPTEST_CASES` (CI runs 10,000); 256 by default. The
//! deterministic simulation (`sim.rs`) runs the same oracle from a seed.

use proptest::prelude::*;
use sync_core::document::policy::Writer;
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::Batch;
use sync_core::session::{serve, ClientSession};
use sync_core::{Actor, ItemId};

use crate::oracle::{replica_context, EditOp, Oracle, CATEGORIES};

const DOCS: usize = 2;

#[derive(Debug, Clone)]
enum Fault {
    None,
    DropRequest,
    /// The server commits, the reply is lost.
    DropReply,
    DuplicateRequest,
    /// A stale request from earlier arrives again at the server.
    ReplayOld(usize),
    RestartClient {
        keep_states: bool,
    },
    RestartServer,
}

#[derive(Debug, Clone)]
enum Op {
    Edit { r: usize, doc: usize, op: EditOp },
    Sync { r: usize, faults: Vec<Fault> },
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::None),
        1 => Just(Fault::DropRequest),
        1 => Just(Fault::DropReply),
        1 => Just(Fault::DuplicateRequest),
        1 => any::<usize>().prop_map(Fault::ReplayOld),
        1 => any::<bool>().prop_map(|keep_states| Fault::RestartClient { keep_states }),
        1 => Just(Fault::RestartServer),
    ]
}

fn edit_op() -> impl Strategy<Value = EditOp> {
    let any = any::<usize>;
    prop_oneof![
        3 => Just(EditOp::AddEntry),
        4 => (any(), any()).prop_map(|(pick, at)| EditOp::InsertToken { pick, at }),
        2 => (any(), any()).prop_map(|(pick, which)| EditOp::DeleteToken { pick, which }),
        1 => any().prop_map(|pick| EditOp::DeleteEntry { pick }),
        1 => (any(), 0..CATEGORIES.len()).prop_map(|(pick, cat)| EditOp::SetCategory { pick, cat }),
        2 => any().prop_map(|at| EditOp::SummaryToken { at }),
        1 => Just(EditOp::Comment),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..5usize;
    prop_oneof![
        14 => (r.clone(), 0..DOCS, edit_op()).prop_map(|(r, doc, op)| Op::Edit { r, doc, op }),
        4 => (r, proptest::collection::vec(fault(), 0..4)).prop_map(|(r, faults)| Op::Sync { r, faults }),
    ]
}

struct World {
    server: MemoryServer,
    replicas: Vec<MemoryReplica>,
    history: Vec<Vec<Vec<u8>>>,
    oracle: Oracle,
}

impl World {
    fn new(n: usize) -> Self {
        Self {
            server: MemoryServer::new(),
            replicas: (0..n)
                .map(|_| MemoryReplica::new(Actor::random()))
                .collect(),
            history: vec![Vec::new(); n],
            oracle: Oracle::new(DOCS),
        }
    }

    fn apply(&mut self, op: &Op) {
        let n = self.replicas.len();
        match *op {
            Op::Edit { r, doc, ref op } => {
                let r = r % n;
                let ctx = replica_context(r, n);
                self.oracle
                    .edit(&mut self.replicas[r], doc, &ctx, op, ItemId::random);
            }
            Op::Sync { r, ref faults } => self.sync(r % n, faults),
        }
    }

    /// One sync session of replica `r`, with a fault per round (then
    /// reliable rounds). A lost request or reply ends the session, as a
    /// network error would.
    fn sync(&mut self, r: usize, faults: &[Fault]) {
        let peer = format!("dev{r}");
        // The server's own write policy, as the replica's user: every
        // typed edit of the oracle, merged in any order, is accepted.
        let policy = writer_of(&self.replicas[r], r, self.replicas.len());
        let client = &mut self.replicas[r];
        let mut session = ClientSession::new(client).unwrap();
        let mut round = 0;
        while let Some(request) = session.next_request(client).unwrap() {
            let up = request.encode();
            self.history[r].push(up.clone());
            let fault = faults.get(round).cloned().unwrap_or(Fault::None);
            round += 1;
            match fault {
                Fault::DropRequest => return,
                Fault::RestartServer => self.server.restart(),
                Fault::ReplayOld(k) => {
                    let old = &self.history[r][k % self.history[r].len()];
                    serve(
                        &mut self.server,
                        &policy,
                        &peer,
                        &Batch::decode(old).unwrap(),
                    )
                    .unwrap();
                }
                Fault::RestartClient { keep_states } => {
                    client.restart(keep_states);
                    return;
                }
                _ => {}
            }
            let mut reply = serve(
                &mut self.server,
                &policy,
                &peer,
                &Batch::decode(&up).unwrap(),
            )
            .unwrap();
            match fault {
                Fault::DropReply => return,
                Fault::DuplicateRequest => {
                    reply = serve(
                        &mut self.server,
                        &policy,
                        &peer,
                        &Batch::decode(&up).unwrap(),
                    )
                    .unwrap();
                }
                _ => {}
            }
            let down = reply.encode();
            session
                .handle_reply(client, Batch::decode(&down).unwrap())
                .unwrap();
        }
        assert!(session.problems().is_empty(), "{:?}", session.problems());
    }

    fn check(&mut self) {
        // Everyone restarts, then syncs reliably until nothing moves.
        for r in self.replicas.iter_mut() {
            r.restart(true);
        }
        self.server.restart();
        for _ in 0..3 {
            for r in 0..self.replicas.len() {
                self.sync(r, &[]);
            }
        }
        self.oracle
            .check_converged(&mut self.server, &mut self.replicas)
            .unwrap_or_else(|e| panic!("{e}"));
        // What the server's write checks read of these documents when they
        // arrive whole: the chunk scan agrees with Automerge's rebuild.
        crate::new_ops::check_server_documents(&mut self.server);
    }
}

/// The write policy for replica `r`'s user and device.
pub fn writer_of(replica: &MemoryReplica, r: usize, replicas: usize) -> Writer {
    let ctx = replica_context(r, replicas);
    use sync_core::session::ClientStore;
    Writer {
        user: ctx.user.to_string(),
        role: ctx.role,
        actors: [replica.actor().to_hex()].into_iter().collect(),
        today: chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        opens_cases: false,
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_to_the_oracle(n in 2..=5usize, ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World::new(n);
        for op in &ops {
            world.apply(op);
        }
        world.check();
    }
}

//! Convergence, proven against an oracle.
//!
//! 2 to 5 replicas (phones of one cadre, and a supervisor who comments) make
//! random typed edits — entries, concurrent text edits, deletes, comments,
//! summary edits — and sync with one server through encoded batches while the
//! network drops, duplicates and replays requests and replies, and replicas
//! and the server restart (sync state kept, or lost). After a final reliable
//! sync every replica must hold identical values, and those values must be
//! what the oracle expects: every entry added anywhere is there, deleted iff
//! someone deleted it, its text holding exactly the tokens inserted and not
//! deleted; every comment is there; every scalar is one of the values
//! written.
//!
//! Text edits insert and delete whole tokens (`⟨t12⟩`) at token boundaries,
//! so the expected content of a concurrently edited text is known as a set
//! even though its order is Automerge's to choose.
//!
//! Cases: `PROPTEST_CASES` (CI runs 10,000); 256 by default.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use sync_core::document::{Category, EntryPatch, ItemText, Record, TextTarget};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::Batch;
use sync_core::session::{serve, AllowAll, ClientSession, ClientStore};
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role};

use crate::common::*;

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
    AddEntry {
        r: usize,
        doc: usize,
    },
    InsertToken {
        r: usize,
        doc: usize,
        pick: usize,
        at: usize,
    },
    DeleteToken {
        r: usize,
        doc: usize,
        pick: usize,
        which: usize,
    },
    DeleteEntry {
        r: usize,
        doc: usize,
        pick: usize,
    },
    SetCategory {
        r: usize,
        doc: usize,
        pick: usize,
        cat: usize,
    },
    SummaryToken {
        r: usize,
        doc: usize,
        at: usize,
    },
    Comment {
        r: usize,
        doc: usize,
    },
    Sync {
        r: usize,
        faults: Vec<Fault>,
    },
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

fn op() -> impl Strategy<Value = Op> {
    let r = 0..5usize;
    let doc = 0..DOCS;
    prop_oneof![
        3 => (r.clone(), doc.clone()).prop_map(|(r, doc)| Op::AddEntry { r, doc }),
        4 => (r.clone(), doc.clone(), any::<usize>(), any::<usize>())
            .prop_map(|(r, doc, pick, at)| Op::InsertToken { r, doc, pick, at }),
        2 => (r.clone(), doc.clone(), any::<usize>(), any::<usize>())
            .prop_map(|(r, doc, pick, which)| Op::DeleteToken { r, doc, pick, which }),
        1 => (r.clone(), doc.clone(), any::<usize>()).prop_map(|(r, doc, pick)| Op::DeleteEntry { r, doc, pick }),
        1 => (r.clone(), doc.clone(), any::<usize>(), 0..7usize)
            .prop_map(|(r, doc, pick, cat)| Op::SetCategory { r, doc, pick, cat }),
        2 => (r.clone(), doc.clone(), any::<usize>()).prop_map(|(r, doc, at)| Op::SummaryToken { r, doc, at }),
        1 => (r.clone(), doc.clone()).prop_map(|(r, doc)| Op::Comment { r, doc }),
        4 => (r, proptest::collection::vec(fault(), 0..4)).prop_map(|(r, faults)| Op::Sync { r, faults }),
    ]
}

const CATEGORIES: [Category; 7] = [
    Category::Visit,
    Category::Meeting,
    Category::Project,
    Category::Mediation,
    Category::Study,
    Category::Duty,
    Category::Other,
];

/// What the oracle knows of one entry.
#[derive(Debug)]
struct ExpectedEntry {
    doc: usize,
    deleted: bool,
    /// Tokens inserted and not deleted.
    tokens: BTreeSet<String>,
    /// Every category written.
    categories: BTreeSet<&'static str>,
}

/// What must be true at the end, whatever the order of delivery.
#[derive(Debug, Default)]
struct Oracle {
    entries: BTreeMap<String, ExpectedEntry>,
    summary: [BTreeSet<String>; DOCS],
    comments: BTreeMap<String, usize>,
    tokens: usize,
}

impl Oracle {
    fn token(&mut self) -> String {
        self.tokens += 1;
        format!("⟨t{}⟩", self.tokens)
    }
}

fn tokens_of(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find('⟩')? + '⟩'.len_utf8();
        let tok = &rest[..end];
        if !tok.starts_with('⟨') || tok[3..].contains('⟨') {
            return None;
        }
        out.push(tok.to_owned());
        rest = &rest[end..];
    }
    Some(out)
}

struct World {
    server: MemoryServer,
    replicas: Vec<MemoryReplica>,
    history: Vec<Vec<Vec<u8>>>,
    docs: Vec<DocId>,
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
            docs: (0..DOCS)
                .map(|d| DocId::diary(&user("u1"), day(d as u32)))
                .collect(),
            oracle: Oracle::default(),
        }
    }

    /// With three or more replicas the last one is a supervisor's.
    fn is_supervisor(&self, r: usize) -> bool {
        self.replicas.len() >= 3 && r == self.replicas.len() - 1
    }

    fn ctx(&self, r: usize) -> EditContext {
        if self.is_supervisor(r) {
            EditContext {
                user: user("s1"),
                role: Role::Supervisor,
                now_ms: 1,
            }
        } else {
            cadre("u1")
        }
    }

    fn live_entries(&mut self, r: usize, doc: usize) -> Vec<(String, String)> {
        let id = self.docs[doc].clone();
        match self.replicas[r].document(&id).unwrap().map(|d| d.read()) {
            Some(Record::Diary(d)) => d
                .entries
                .into_iter()
                .filter(|e| !e.deleted)
                .map(|e| (e.id, e.text))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn summary(&mut self, r: usize, doc: usize) -> String {
        let id = self.docs[doc].clone();
        match self.replicas[r].document(&id).unwrap().map(|d| d.read()) {
            Some(Record::Diary(d)) => d.summary,
            _ => String::new(),
        }
    }

    fn edit(&mut self, r: usize, doc: usize, edit: Edit) {
        let id = self.docs[doc].clone();
        let ctx = self.ctx(r);
        self.replicas[r].edit(&id, &edit, &ctx).unwrap();
    }

    /// Insert position (in characters) of boundary `at` among `tokens`.
    fn boundary(tokens: &[String], at: usize) -> usize {
        let k = at % (tokens.len() + 1);
        tokens[..k].iter().map(|t| t.chars().count()).sum()
    }

    fn apply(&mut self, op: &Op) {
        let n = self.replicas.len();
        match *op {
            Op::AddEntry { r, doc } => {
                let r = r % n;
                if self.is_supervisor(r) {
                    return;
                }
                let tok = self.oracle.token();
                let id = ItemId::random();
                let mut fields = entry_fields(0);
                fields.text = tok.clone();
                self.edit(
                    r,
                    doc,
                    Edit::AddEntry {
                        id: id.clone(),
                        fields,
                    },
                );
                self.oracle.entries.insert(
                    id.to_string(),
                    ExpectedEntry {
                        doc,
                        deleted: false,
                        tokens: BTreeSet::from([tok]),
                        categories: BTreeSet::from(["visit"]),
                    },
                );
            }
            Op::InsertToken { r, doc, pick, at } => {
                let r = r % n;
                let live = self.live_entries(r, doc);
                if self.is_supervisor(r) || live.is_empty() {
                    return;
                }
                let (id, text) = &live[pick % live.len()];
                let tokens = tokens_of(text).expect("text is whole tokens");
                let pos = Self::boundary(&tokens, at);
                let tok = self.oracle.token();
                let target = TextTarget::Item {
                    id: ItemId::parse(id).unwrap(),
                    field: ItemText::Text,
                };
                self.edit(
                    r,
                    doc,
                    Edit::SpliceText {
                        target,
                        pos,
                        delete: 0,
                        insert: tok.clone(),
                    },
                );
                self.oracle.entries.get_mut(id).unwrap().tokens.insert(tok);
            }
            Op::DeleteToken {
                r,
                doc,
                pick,
                which,
            } => {
                let r = r % n;
                let live = self.live_entries(r, doc);
                if self.is_supervisor(r) || live.is_empty() {
                    return;
                }
                let (id, text) = &live[pick % live.len()];
                let tokens = tokens_of(text).expect("text is whole tokens");
                if tokens.is_empty() {
                    return;
                }
                let k = which % tokens.len();
                let pos = Self::boundary(&tokens, k);
                let target = TextTarget::Item {
                    id: ItemId::parse(id).unwrap(),
                    field: ItemText::Text,
                };
                let delete = tokens[k].chars().count();
                self.edit(
                    r,
                    doc,
                    Edit::SpliceText {
                        target,
                        pos,
                        delete,
                        insert: String::new(),
                    },
                );
                self.oracle
                    .entries
                    .get_mut(id)
                    .unwrap()
                    .tokens
                    .remove(&tokens[k]);
            }
            Op::DeleteEntry { r, doc, pick } => {
                let r = r % n;
                let live = self.live_entries(r, doc);
                if self.is_supervisor(r) || live.is_empty() {
                    return;
                }
                let id = live[pick % live.len()].0.clone();
                self.edit(
                    r,
                    doc,
                    Edit::DeleteEntry {
                        id: ItemId::parse(&id).unwrap(),
                    },
                );
                self.oracle.entries.get_mut(&id).unwrap().deleted = true;
            }
            Op::SetCategory { r, doc, pick, cat } => {
                let r = r % n;
                let live = self.live_entries(r, doc);
                if self.is_supervisor(r) || live.is_empty() {
                    return;
                }
                let id = live[pick % live.len()].0.clone();
                let category = CATEGORIES[cat];
                let patch = EntryPatch {
                    category: Some(category),
                    ..Default::default()
                };
                self.edit(
                    r,
                    doc,
                    Edit::UpdateEntry {
                        id: ItemId::parse(&id).unwrap(),
                        patch,
                    },
                );
                self.oracle
                    .entries
                    .get_mut(&id)
                    .unwrap()
                    .categories
                    .insert(category.as_str());
            }
            Op::SummaryToken { r, doc, at } => {
                let r = r % n;
                if self.is_supervisor(r) {
                    return;
                }
                let text = self.summary(r, doc);
                let tokens = tokens_of(&text).expect("summary is whole tokens");
                let pos = Self::boundary(&tokens, at);
                let tok = self.oracle.token();
                self.edit(
                    r,
                    doc,
                    Edit::SpliceText {
                        target: TextTarget::Summary,
                        pos,
                        delete: 0,
                        insert: tok.clone(),
                    },
                );
                self.oracle.summary[doc].insert(tok);
            }
            Op::Comment { r, doc } => {
                let r = r % n;
                let id = ItemId::random();
                self.edit(
                    r,
                    doc,
                    Edit::AddComment {
                        id: id.clone(),
                        on: None,
                        text: "请核实".into(),
                    },
                );
                self.oracle.comments.insert(id.to_string(), doc);
            }
            Op::Sync { r, ref faults } => self.sync(r % n, faults),
        }
    }

    /// One sync session of replica `r`, with a fault per round (then
    /// reliable rounds). A lost request or reply ends the session, as a
    /// network error would.
    fn sync(&mut self, r: usize, faults: &[Fault]) {
        let peer = format!("dev{r}");
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
                        &AllowAll,
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
                &AllowAll,
                &peer,
                &Batch::decode(&up).unwrap(),
            )
            .unwrap();
            match fault {
                Fault::DropReply => return,
                Fault::DuplicateRequest => {
                    reply = serve(
                        &mut self.server,
                        &AllowAll,
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
        for doc in 0..DOCS {
            let id = self.docs[doc].clone();
            let on_server = self.server.document(&id).unwrap().map(|d| d.read());
            for r in 0..self.replicas.len() {
                let here = self.replicas[r].document(&id).unwrap().map(|d| d.read());
                assert_eq!(
                    here, on_server,
                    "replica {r} differs from the server on {id}"
                );
                assert!(
                    self.replicas[r].pending().unwrap().is_empty(),
                    "replica {r} still has unsynced documents"
                );
            }
            let expected_entries: BTreeMap<_, _> = self
                .oracle
                .entries
                .iter()
                .filter(|(_, e)| e.doc == doc)
                .collect();
            let expected_comments: BTreeSet<_> = self
                .oracle
                .comments
                .iter()
                .filter(|(_, d)| **d == doc)
                .map(|(k, _)| k.clone())
                .collect();
            match on_server {
                None => {
                    assert!(expected_entries.is_empty() && expected_comments.is_empty());
                    assert!(self.oracle.summary[doc].is_empty());
                }
                Some(Record::Diary(d)) => {
                    let got: BTreeSet<_> = d.entries.iter().map(|e| e.id.clone()).collect();
                    let want: BTreeSet<_> = expected_entries.keys().map(|k| (*k).clone()).collect();
                    assert_eq!(got, want, "entries of {id}");
                    for e in &d.entries {
                        let expected = expected_entries[&e.id];
                        assert_eq!(e.deleted, expected.deleted, "deleted mark of {}", e.id);
                        let got: BTreeSet<_> = tokens_of(&e.text)
                            .expect("whole tokens")
                            .into_iter()
                            .collect();
                        assert_eq!(got, expected.tokens, "text of entry {}", e.id);
                        assert!(
                            expected.categories.contains(e.category.as_str()),
                            "category {:?} never written",
                            e.category
                        );
                    }
                    let summary: BTreeSet<_> = tokens_of(&d.summary)
                        .expect("whole tokens")
                        .into_iter()
                        .collect();
                    assert_eq!(summary, self.oracle.summary[doc], "summary of {id}");
                    let comments: BTreeSet<_> = d.comments.iter().map(|c| c.id.clone()).collect();
                    assert_eq!(comments, expected_comments, "comments of {id}");
                }
                Some(other) => panic!("unexpected record {other:?}"),
            }
        }
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

#[test]
fn tokens_parse() {
    assert_eq!(tokens_of("⟨t1⟩⟨t22⟩").unwrap(), vec!["⟨t1⟩", "⟨t22⟩"]);
    assert!(tokens_of("⟨t1⟩x").is_none());
    assert!(tokens_of("⟨t⟨t1⟩").is_none());
}

//! The oracle shared by the convergence property test and the simulation:
//! random typed edits whose end result is known whatever the order of
//! delivery, and the check of converged replicas against it.
//!
//! What must hold at the end: every entry added anywhere is there, deleted
//! iff someone deleted it, its text holding exactly the tokens inserted and
//! not deleted; every comment is there; every scalar is one of the values
//! written. Text edits insert and delete whole tokens (`⟨t12⟩`) at token
//! boundaries, so the expected content of a concurrently edited text is
//! known as a set even though its order is Automerge's to choose.

use std::collections::{BTreeMap, BTreeSet};

use sync_core::document::{Category, EntryPatch, ItemText, Record, TextTarget};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::session::ClientStore;
use sync_core::{DocId, Edit, EditContext, ItemId, Role};

use crate::common::{cadre, entry_fields, user};

pub const CATEGORIES: [Category; 7] = [
    Category::Visit,
    Category::Meeting,
    Category::Project,
    Category::Mediation,
    Category::Study,
    Category::Duty,
    Category::Other,
];

/// One typed edit of a diary. `pick`, `at` and `which` choose, modulo what
/// the replica sees when the edit is made, the entry, the token boundary
/// and the token.
#[derive(Debug, Clone)]
pub enum EditOp {
    AddEntry,
    InsertToken { pick: usize, at: usize },
    DeleteToken { pick: usize, which: usize },
    DeleteEntry { pick: usize },
    SetCategory { pick: usize, cat: usize },
    SummaryToken { at: usize },
    Comment,
}

/// Who edits on replica `r` of `replicas`: the cadre `u1`'s phones, and
/// with three or more replicas the last one is a supervisor's, who only
/// comments.
pub fn replica_context(r: usize, replicas: usize) -> EditContext {
    if replicas >= 3 && r == replicas - 1 {
        EditContext {
            user: user("s1"),
            role: Role::Supervisor,
            now_ms: 1,
        }
    } else {
        cadre("u1")
    }
}

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

/// What must be true at the end, whatever the order of delivery, for the
/// diaries `docs` of the cadre `u1`.
#[derive(Debug)]
pub struct Oracle {
    docs: Vec<DocId>,
    entries: BTreeMap<String, ExpectedEntry>,
    summary: Vec<BTreeSet<String>>,
    comments: BTreeMap<String, usize>,
    tokens: usize,
}

impl Oracle {
    /// The oracle of `n` diaries of `u1`, on consecutive days.
    pub fn new(n: usize) -> Self {
        Self {
            docs: (0..n)
                .map(|d| DocId::diary(&user("u1"), crate::common::day(d as u32)))
                .collect(),
            entries: BTreeMap::new(),
            summary: vec![BTreeSet::new(); n],
            comments: BTreeMap::new(),
            tokens: 0,
        }
    }

    pub fn docs(&self) -> &[DocId] {
        &self.docs
    }

    fn token(&mut self) -> String {
        self.tokens += 1;
        format!("⟨t{}⟩", self.tokens)
    }

    /// Make `op` on diary `doc` of `replica` as `ctx`'s user and record what
    /// it must leave. New items take the id `new_id` gives. Returns what was
    /// done, for a trace, or `None` when the op has no target there (no live
    /// entry, or a supervisor, who only comments).
    pub fn edit(
        &mut self,
        replica: &mut MemoryReplica,
        doc: usize,
        ctx: &EditContext,
        op: &EditOp,
        new_id: impl FnOnce() -> ItemId,
    ) -> Option<String> {
        let id = self.docs[doc].clone();
        let supervisor = ctx.role == Role::Supervisor;
        if supervisor && !matches!(op, EditOp::Comment) {
            return None;
        }
        let needs_view = !matches!(op, EditOp::AddEntry | EditOp::Comment);
        let record = if needs_view {
            replica.document(&id).unwrap().map(|d| d.read())
        } else {
            None
        };
        let mut edit = |e: Edit| replica.edit(&id, &e, ctx).unwrap();
        let (live, summary) = match record {
            Some(Record::Diary(d)) => (
                d.entries
                    .into_iter()
                    .filter(|e| !e.deleted)
                    .map(|e| (e.id, e.text))
                    .collect::<Vec<_>>(),
                d.summary,
            ),
            _ => (Vec::new(), String::new()),
        };
        let item_text = |id: &str| TextTarget::Item {
            id: ItemId::parse(id).unwrap(),
            field: ItemText::Text,
        };
        let done = match *op {
            EditOp::AddEntry => {
                let tok = self.token();
                let id = new_id();
                let mut fields = entry_fields(0);
                fields.text = tok.clone();
                edit(Edit::AddEntry {
                    id: id.clone(),
                    fields,
                });
                let done = format!("add entry {id} {tok}");
                self.entries.insert(
                    id.to_string(),
                    ExpectedEntry {
                        doc,
                        deleted: false,
                        tokens: BTreeSet::from([tok]),
                        categories: BTreeSet::from(["visit"]),
                    },
                );
                done
            }
            EditOp::InsertToken { pick, at } => {
                let (id, text) = live.get(pick.checked_rem(live.len())?)?;
                let tokens = tokens_of(text).expect("text is whole tokens");
                let pos = boundary(&tokens, at);
                let tok = self.token();
                edit(Edit::SpliceText {
                    target: item_text(id),
                    pos,
                    delete: 0,
                    insert: tok.clone(),
                });
                self.entries.get_mut(id).unwrap().tokens.insert(tok.clone());
                format!("insert {tok} into entry {id} at {pos}")
            }
            EditOp::DeleteToken { pick, which } => {
                let (id, text) = live.get(pick.checked_rem(live.len())?)?;
                let tokens = tokens_of(text).expect("text is whole tokens");
                let k = which.checked_rem(tokens.len())?;
                let pos = boundary(&tokens, k);
                edit(Edit::SpliceText {
                    target: item_text(id),
                    pos,
                    delete: tokens[k].chars().count(),
                    insert: String::new(),
                });
                self.entries.get_mut(id).unwrap().tokens.remove(&tokens[k]);
                format!("delete {} from entry {id}", tokens[k])
            }
            EditOp::DeleteEntry { pick } => {
                let id = &live.get(pick.checked_rem(live.len())?)?.0;
                edit(Edit::DeleteEntry {
                    id: ItemId::parse(id).unwrap(),
                });
                self.entries.get_mut(id).unwrap().deleted = true;
                format!("delete entry {id}")
            }
            EditOp::SetCategory { pick, cat } => {
                let id = &live.get(pick.checked_rem(live.len())?)?.0;
                let category = CATEGORIES[cat % CATEGORIES.len()];
                edit(Edit::UpdateEntry {
                    id: ItemId::parse(id).unwrap(),
                    patch: EntryPatch {
                        category: Some(category),
                        ..Default::default()
                    },
                });
                let name = category.as_str();
                self.entries.get_mut(id).unwrap().categories.insert(name);
                format!("set category of entry {id} to {name}")
            }
            EditOp::SummaryToken { at } => {
                let tokens = tokens_of(&summary).expect("summary is whole tokens");
                let pos = boundary(&tokens, at);
                let tok = self.token();
                edit(Edit::SpliceText {
                    target: TextTarget::Summary,
                    pos,
                    delete: 0,
                    insert: tok.clone(),
                });
                self.summary[doc].insert(tok.clone());
                format!("insert {tok} into the summary at {pos}")
            }
            EditOp::Comment => {
                let id = new_id();
                edit(Edit::AddComment {
                    id: id.clone(),
                    on: None,
                    text: "请核实".into(),
                });
                self.comments.insert(id.to_string(), doc);
                format!("comment {id}")
            }
        };
        Some(format!("{}: {done}", self.docs[doc]))
    }

    /// Every replica holds what the server holds, has nothing left to send,
    /// and every document holds what the oracle expects.
    pub fn check_converged(
        &self,
        server: &mut MemoryServer,
        replicas: &mut [MemoryReplica],
    ) -> Result<(), String> {
        for (r, replica) in replicas.iter_mut().enumerate() {
            let pending = replica.pending().map_err(|e| e.to_string())?;
            if !pending.is_empty() {
                return Err(format!(
                    "replica {r} still has unsynced documents {pending:?}"
                ));
            }
        }
        for (doc, id) in self.docs.iter().enumerate() {
            let on_server = server
                .document(id)
                .map_err(|e| e.to_string())?
                .map(|d| d.read());
            for (r, replica) in replicas.iter_mut().enumerate() {
                let here = replica
                    .document(id)
                    .map_err(|e| e.to_string())?
                    .map(|d| d.read());
                if here != on_server {
                    return Err(format!(
                        "replica {r} differs from the server on {id}:\n  replica {here:?}\n  server  {on_server:?}"
                    ));
                }
            }
            self.check_doc(doc, on_server)?;
        }
        Ok(())
    }

    fn check_doc(&self, doc: usize, record: Option<Record>) -> Result<(), String> {
        let id = &self.docs[doc];
        let expected_entries: BTreeMap<_, _> =
            self.entries.iter().filter(|(_, e)| e.doc == doc).collect();
        let expected_comments: BTreeSet<_> = self
            .comments
            .iter()
            .filter(|(_, d)| **d == doc)
            .map(|(k, _)| k.clone())
            .collect();
        let d = match record {
            None if expected_entries.is_empty()
                && expected_comments.is_empty()
                && self.summary[doc].is_empty() =>
            {
                return Ok(())
            }
            None => return Err(format!("{id} is missing on the server")),
            Some(Record::Diary(d)) => d,
            Some(other) => return Err(format!("unexpected record {other:?}")),
        };
        let token_set = |text: &str, what: String| {
            tokens_of(text)
                .map(|t| t.into_iter().collect::<BTreeSet<_>>())
                .ok_or_else(|| format!("{what} is not whole tokens: {text:?}"))
        };
        let got: BTreeSet<_> = d.entries.iter().map(|e| e.id.clone()).collect();
        let want: BTreeSet<_> = expected_entries.keys().map(|k| (*k).clone()).collect();
        expect_eq(&got, &want, || format!("entries of {id}"))?;
        for e in &d.entries {
            let expected = expected_entries[&e.id];
            expect_eq(&e.deleted, &expected.deleted, || {
                format!("deleted mark of {}", e.id)
            })?;
            let got = token_set(&e.text, format!("text of entry {}", e.id))?;
            expect_eq(&got, &expected.tokens, || format!("text of entry {}", e.id))?;
            if !expected.categories.contains(e.category.as_str()) {
                return Err(format!(
                    "category {:?} of entry {} never written",
                    e.category, e.id
                ));
            }
        }
        let summary = token_set(&d.summary, format!("summary of {id}"))?;
        expect_eq(&summary, &self.summary[doc], || format!("summary of {id}"))?;
        let comments: BTreeSet<_> = d.comments.iter().map(|c| c.id.clone()).collect();
        expect_eq(&comments, &expected_comments, || {
            format!("comments of {id}")
        })
    }
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(
    got: &T,
    want: &T,
    what: impl FnOnce() -> String,
) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{}: got {got:?}, want {want:?}", what()))
    }
}

/// Insert position (in characters) of boundary `at` among `tokens`.
fn boundary(tokens: &[String], at: usize) -> usize {
    let k = at % (tokens.len() + 1);
    tokens[..k].iter().map(|t| t.chars().count()).sum()
}

/// The tokens a text is made of, or `None` if it is not whole tokens.
pub fn tokens_of(text: &str) -> Option<Vec<String>> {
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

#[test]
fn tokens_parse() {
    assert_eq!(tokens_of("⟨t1⟩⟨t22⟩").unwrap(), vec!["⟨t1⟩", "⟨t22⟩"]);
    assert!(tokens_of("⟨t1⟩x").is_none());
    assert!(tokens_of("⟨t⟨t1⟩").is_none());
}

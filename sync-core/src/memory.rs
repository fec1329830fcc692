//! In-memory stores for both sides of the protocol: the reference the
//! property tests, the deterministic simulation and the benchmarks run on.
//!
//! "Disk" is a map of saved bytes; [`MemoryReplica::restart`] drops
//! everything a process would lose and reloads from those bytes, so a restart
//! exercises the same load path as a real one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::document::{Actor, Document, Edit, EditContext};
use crate::error::CoreError;
use crate::ids::DocId;
use crate::session::{Changed, ClientStore, ClientWrites, ServerDocWrite, ServerStore};

/// A phone's replica held in memory.
#[derive(Debug, Clone)]
pub struct MemoryReplica {
    actor: Actor,
    /// What survives a restart: saved document bytes.
    disk: BTreeMap<DocId, Vec<u8>>,
    /// Loaded documents (lost on restart).
    cache: HashMap<DocId, Document>,
    states: BTreeMap<DocId, Vec<u8>>,
    pending: BTreeSet<DocId>,
    cursor: u64,
}

impl MemoryReplica {
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            disk: BTreeMap::new(),
            cache: HashMap::new(),
            states: BTreeMap::new(),
            pending: BTreeSet::new(),
            cursor: 0,
        }
    }

    /// Apply an edit, creating the document from its genesis if needed.
    pub fn edit(&mut self, id: &DocId, edit: &Edit, ctx: &EditContext) -> Result<(), CoreError> {
        let mut doc = match self.load(id)? {
            Some(d) => d,
            None => Document::create(id.clone(), &self.actor),
        };
        doc.apply(edit, ctx)?;
        self.put(doc);
        self.pending.insert(id.clone());
        Ok(())
    }

    fn put(&mut self, mut doc: Document) {
        self.disk.insert(doc.id().clone(), doc.save());
        self.cache.insert(doc.id().clone(), doc);
    }

    pub fn document(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.load(id)
    }

    /// Store a document as it is, marked unsynced: how tests hand the sync
    /// path changes that the typed API would refuse (forged or hostile).
    pub fn insert_raw(&mut self, doc: Document) {
        self.pending.insert(doc.id().clone());
        self.put(doc);
    }

    pub fn doc_ids(&self) -> Vec<DocId> {
        self.disk.keys().cloned().collect()
    }

    /// A process restart: caches gone, documents reloaded from saved bytes.
    /// `keep_sync_states: false` also loses the persisted sync states (an
    /// app whose sync-state table was cleared).
    pub fn restart(&mut self, keep_sync_states: bool) {
        self.cache.clear();
        if !keep_sync_states {
            self.states.clear();
        }
    }
}

impl ClientStore for MemoryReplica {
    fn actor(&self) -> Actor {
        self.actor.clone()
    }
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        if let Some(d) = self.cache.get(id) {
            return Ok(Some(d.clone()));
        }
        let Some(bytes) = self.disk.get(id) else {
            return Ok(None);
        };
        let doc = Document::load_stored(id.clone(), bytes, &self.actor)?;
        self.cache.insert(id.clone(), doc.clone());
        Ok(Some(doc))
    }
    fn load_to_send(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.load(id)
    }
    fn sync_state(&mut self, id: &DocId) -> Result<Option<Vec<u8>>, CoreError> {
        Ok(self.states.get(id).cloned())
    }
    fn pending(&mut self) -> Result<Vec<DocId>, CoreError> {
        Ok(self.pending.iter().cloned().collect())
    }
    fn cursor(&mut self) -> Result<u64, CoreError> {
        Ok(self.cursor)
    }
    fn commit_sync(&mut self, writes: ClientWrites) -> Result<(), CoreError> {
        for w in writes.docs {
            let mut doc = w.doc;
            let id = doc.id().clone();
            self.states.insert(id.clone(), w.state);
            if w.synced {
                self.pending.remove(&id);
            }
            // An acknowledgement leaves the document as saved: keep its
            // bytes (the SQLite replica writes nothing new either), instead
            // of compressing the whole document again, which was half of
            // the load generator's CPU.
            let unchanged = match self.cache.get_mut(&id) {
                Some(cached) => cached.heads() == doc.heads(),
                None => false,
            };
            if unchanged && self.disk.contains_key(&id) {
                self.cache.insert(id, doc);
            } else {
                self.put(doc);
            }
        }
        self.cursor = writes.cursor;
        Ok(())
    }
}

/// A server held in memory: every document visible to every peer.
#[derive(Debug, Clone)]
pub struct MemoryServer {
    actor: Actor,
    docs: BTreeMap<DocId, (Vec<u8>, u64)>,
    cache: HashMap<DocId, Document>,
    peer_states: HashMap<(String, DocId), Vec<u8>>,
    seq: u64,
}

impl Default for MemoryServer {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryServer {
    pub fn new() -> Self {
        Self {
            actor: Actor::random(),
            docs: BTreeMap::new(),
            cache: HashMap::new(),
            peer_states: HashMap::new(),
            seq: 0,
        }
    }

    pub fn document(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.load(id)
    }

    pub fn doc_ids(&self) -> Vec<DocId> {
        self.docs.keys().cloned().collect()
    }

    /// The bytes stored for `id`, as the commit wrote them.
    pub fn stored_bytes(&self, id: &DocId) -> Option<&[u8]> {
        self.docs.get(id).map(|(bytes, _)| bytes.as_slice())
    }

    /// Drop what a server process keeps in memory.
    pub fn restart(&mut self) {
        self.cache.clear();
    }
}

impl ServerStore for MemoryServer {
    fn actor(&self) -> Actor {
        self.actor.clone()
    }
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        if let Some(d) = self.cache.get(id) {
            return Ok(Some(d.clone()));
        }
        let Some((bytes, _)) = self.docs.get(id) else {
            return Ok(None);
        };
        let doc = Document::load_stored(id.clone(), bytes, &self.actor)?;
        self.cache.insert(id.clone(), doc.clone());
        Ok(Some(doc))
    }
    fn peer_state(&mut self, peer: &str, id: &DocId) -> Result<Option<Vec<u8>>, CoreError> {
        Ok(self
            .peer_states
            .get(&(peer.to_owned(), id.clone()))
            .cloned())
    }
    fn changed_since(
        &mut self,
        _peer: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Changed, CoreError> {
        let mut changed: Vec<(u64, DocId)> = self
            .docs
            .iter()
            .filter(|(_, (_, seq))| *seq > cursor)
            .map(|(id, (_, seq))| (*seq, id.clone()))
            .collect();
        changed.sort();
        let more = changed.len() > limit;
        changed.truncate(limit);
        let new_cursor = if more {
            changed.last().map(|(s, _)| *s).unwrap_or(cursor)
        } else {
            self.seq.max(cursor)
        };
        Ok(Changed {
            docs: changed.into_iter().map(|(_, id)| id).collect(),
            cursor: new_cursor,
            more,
        })
    }
    fn commit(&mut self, peer: &str, writes: Vec<ServerDocWrite>) -> Result<(), CoreError> {
        for w in writes {
            let id = w.doc.id().clone();
            if let Some(saved) = w.saved {
                self.seq += 1;
                self.docs.insert(id.clone(), (saved, self.seq));
                self.cache.insert(id.clone(), w.doc);
            }
            self.peer_states.insert((peer.to_owned(), id), w.state);
        }
        Ok(())
    }
}

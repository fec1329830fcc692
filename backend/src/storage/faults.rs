//! Faults injected into the sync commit, for the crash-point tests: a
//! failure at a chosen step of the accept path, after some of its writes
//! and before the commit, must leave nothing of the request stored.
//!
//! Scoped to one [`Store`](super::Store) (one server in a test), never read
//! from the configuration; with nothing armed a step costs one atomic load.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::StoreError;

/// A step of `commit_sync`, in the order they run for each document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitStep {
    /// The document row is written.
    AfterDocument,
    /// Its new changes are in the change log.
    AfterChangeLog,
    /// Its photo references are rewritten.
    AfterPhotoRefs,
    /// Its read models (entries, activities, tasks) are rebuilt.
    AfterProjections,
    /// Every document is written, and the device's sync states: only the
    /// commit itself is left.
    BeforeCommit,
}

impl CommitStep {
    pub const ALL: [CommitStep; 5] = [
        CommitStep::AfterDocument,
        CommitStep::AfterChangeLog,
        CommitStep::AfterPhotoRefs,
        CommitStep::AfterProjections,
        CommitStep::BeforeCommit,
    ];
    fn code(self) -> u8 {
        match self {
            CommitStep::AfterDocument => 1,
            CommitStep::AfterChangeLog => 2,
            CommitStep::AfterPhotoRefs => 3,
            CommitStep::AfterProjections => 4,
            CommitStep::BeforeCommit => 5,
        }
    }
}

/// What happens at the armed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// The step returns an error (a failed write, a lost connection).
    Error,
    /// The request's task panics in the middle of the transaction.
    Panic,
}

/// The armed fault of one store, if any: step code × 2 + action.
#[derive(Debug, Default, Clone)]
pub struct Faults(Arc<AtomicU8>);

impl Faults {
    pub fn arm(&self, step: CommitStep, action: FaultAction) {
        let a = match action {
            FaultAction::Error => 0,
            FaultAction::Panic => 1,
        };
        self.0.store(step.code() * 2 + a, Ordering::SeqCst);
    }

    pub fn disarm(&self) {
        self.0.store(0, Ordering::SeqCst);
    }

    /// Fail here if `step` is armed.
    pub(crate) fn at(&self, step: CommitStep) -> Result<(), StoreError> {
        let armed = self.0.load(Ordering::Relaxed);
        if armed == 0 || armed / 2 != step.code() {
            return Ok(());
        }
        if armed % 2 == 1 {
            panic!("fault injected at {step:?}");
        }
        Err(StoreError::Injected(step))
    }
}

//! The write policy of one request: the calling device's
//! [`sync_core::document::policy::Writer`] (the rules themselves live in
//! `sync-core`, shared with the phone and fuzzed there), and what its
//! checks read, kept for the commit.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use automerge::ChangeHash;
use sync_core::document::policy::{Checked, Writer};
use sync_core::session::{Refusal, WritePolicy};
use sync_core::{DocId, Document, Role};

pub struct DevicePolicy {
    writer: Writer,
    /// What the checks of this request read, by document: the commit needs
    /// the same record and change list, and each costs a walk of the
    /// document (see [`DevicePolicy::take_checked`]).
    checked: Mutex<HashMap<DocId, Checked>>,
}

impl DevicePolicy {
    /// The policy of `user` with `role` writing from a device whose actors
    /// are `actors` (hex), today where the county is.
    pub fn new(user_id: String, role: Role, actors: HashSet<String>) -> Self {
        Self::on(user_id, role, actors, local_today())
    }

    /// [`DevicePolicy::new`] on a given day.
    pub fn on(
        user_id: String,
        role: Role,
        actors: HashSet<String>,
        today: chrono::NaiveDate,
    ) -> Self {
        Self {
            writer: Writer {
                user: user_id,
                role,
                actors,
                today,
                opens_cases: false,
            },
            checked: Mutex::new(HashMap::new()),
        }
    }

    /// The same policy, for the server filing a case the public brought:
    /// it alone may open a complaint or a request.
    pub fn opening_cases(mut self) -> Self {
        self.writer.opens_cases = true;
        self
    }

    /// The record and new changes the last passed check of `doc` read, if
    /// the document is still at `heads`.
    pub fn take_checked(&self, doc: &DocId, heads: &[ChangeHash]) -> Option<Checked> {
        let checked = self
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(doc)?;
        (checked.heads == heads).then_some(checked)
    }
}

/// Today's date in the deployment's time zone (UTC+8).
pub fn local_today() -> chrono::NaiveDate {
    crate::china::today()
}

impl WritePolicy for DevicePolicy {
    fn check(
        &self,
        before: &mut Document,
        after: &mut Document,
        arrived_whole: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        let checked = self.writer.check_write(before, after, arrived_whole)?;
        self.checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(after.id().clone(), checked);
        Ok(())
    }
}

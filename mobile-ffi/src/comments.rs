//! Comments by others on my records, kept as an index so that the
//! notification list and the unread count cost nothing per call: built by
//! one scan the first time they are asked for, then updated for each
//! document an edit or a sync changed (every change passes through this
//! library). "Read" is a watermark: comments at or before the time the app
//! last marked as read.

use std::collections::BTreeMap;

use sync_core::replica::Replica;
use sync_core::{DocId, UserId};

use crate::error::JishiError;
use crate::types::{comment, CommentNotice};

const READ_UP_TO_KEY: &str = "ffi.comments_read_up_to";

/// The index: for each of my documents, the live comments by others.
#[derive(Debug, Default)]
pub(crate) struct CommentIndex {
    by_doc: Option<BTreeMap<DocId, Vec<CommentNotice>>>,
    me: Option<UserId>,
}

fn others_comments(
    replica: &mut Replica,
    me: &UserId,
    id: &DocId,
) -> Result<Vec<CommentNotice>, JishiError> {
    let Some(record) = replica.record(id)? else {
        return Ok(Vec::new());
    };
    Ok(record
        .comments()
        .iter()
        .filter(|c| !c.deleted && c.author != me.as_str())
        .map(|c| CommentNotice {
            doc_id: id.to_string(),
            comment: comment(c.clone()),
            unread: false,
        })
        .collect())
}

impl CommentIndex {
    fn built(
        &mut self,
        replica: &mut Replica,
        me: &UserId,
    ) -> Result<&mut BTreeMap<DocId, Vec<CommentNotice>>, JishiError> {
        if self.me.as_ref() != Some(me) {
            self.by_doc = None;
            self.me = Some(me.clone());
        }
        if self.by_doc.is_none() {
            let mut by_doc = BTreeMap::new();
            for id in replica.doc_ids()? {
                if id.owner() == Some(me) {
                    let found = others_comments(replica, me, &id)?;
                    if !found.is_empty() {
                        by_doc.insert(id, found);
                    }
                }
            }
            self.by_doc = Some(by_doc);
        }
        Ok(self.by_doc.get_or_insert_with(BTreeMap::new))
    }

    /// Documents changed: look at their comments again (if built).
    pub fn changed(
        &mut self,
        replica: &mut Replica,
        me: &UserId,
        ids: &[DocId],
    ) -> Result<(), JishiError> {
        if self.by_doc.is_none() || self.me.as_ref() != Some(me) {
            return Ok(());
        }
        for id in ids.iter().filter(|id| id.owner() == Some(me)) {
            let found = others_comments(replica, me, id)?;
            let by_doc = self.built(replica, me)?;
            if found.is_empty() {
                by_doc.remove(id);
            } else {
                by_doc.insert(id.clone(), found);
            }
        }
        Ok(())
    }

    /// Every comment by others on my records, newest first, with `unread`.
    pub fn list(
        &mut self,
        replica: &mut Replica,
        me: &UserId,
    ) -> Result<Vec<CommentNotice>, JishiError> {
        let read_up_to = read_up_to(replica)?;
        let mut out: Vec<CommentNotice> = self
            .built(replica, me)?
            .values()
            .flatten()
            .cloned()
            .map(|mut n| {
                n.unread = n.comment.at_ms > read_up_to;
                n
            })
            .collect();
        out.sort_by_key(|n| std::cmp::Reverse(n.comment.at_ms));
        Ok(out)
    }

    pub fn unread(&mut self, replica: &mut Replica, me: &UserId) -> Result<u32, JishiError> {
        let read_up_to = read_up_to(replica)?;
        let n = self
            .built(replica, me)?
            .values()
            .flatten()
            .filter(|n| n.comment.at_ms > read_up_to)
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

pub(crate) fn read_up_to(replica: &Replica) -> Result<i64, JishiError> {
    Ok(replica
        .meta(READ_UP_TO_KEY)?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(i64::from_be_bytes)
        .unwrap_or(i64::MIN))
}

pub(crate) fn set_read_up_to(replica: &mut Replica, at_ms: i64) -> Result<(), JishiError> {
    // Never backwards: a late call with an older time keeps the newer mark.
    let at_ms = at_ms.max(read_up_to(replica)?);
    replica.set_meta(READ_UP_TO_KEY, &at_ms.to_be_bytes())?;
    Ok(())
}

//! The change feed: which documents changed, in commit order, for whoever
//! waits on `GET /api/v1/events` on any instance.
//!
//! On SQLite (one instance) the store announces a commit to its own
//! subscribers once it is durable. On PostgreSQL the commit's transaction
//! also sends `NOTIFY jishi_changes` (delivered by PostgreSQL only if the
//! transaction commits), and every instance, the writer included, listens
//! and announces what arrives: one path, whichever instance took the write.
//! A lost listening connection is announced as a [`Feed::Gap`] (its
//! subscribers tell their clients to sync once) and reconnected.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use sync_core::DocId;
use tokio::sync::broadcast;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "jishi_changes";
/// Announcements a slow subscriber may fall behind before it is told it
/// missed some ([`broadcast::error::RecvError::Lagged`]).
const CAPACITY: usize = 8192;
/// PostgreSQL refuses payloads of 8,000 bytes or more.
const MAX_PAYLOAD: usize = 7_000;

/// A document stored by a commit, with the sequence number it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocChange {
    pub doc_id: String,
    pub owner_id: String,
    pub seq: i64,
}

/// What subscribers receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    Changed(DocChange),
    /// Announcements may have been lost (the listening connection broke).
    Gap,
}

impl DocChange {
    /// `owner` as stored in the document's row (an item's responsible
    /// person: the id of an assigned document names nobody).
    pub fn new(id: &DocId, owner: &str, seq: i64) -> Self {
        Self {
            doc_id: id.to_string(),
            owner_id: owner.to_owned(),
            seq,
        }
    }

    /// `"{seq} {doc_id} {owner}"`.
    fn line(&self) -> String {
        format!("{} {} {}", self.seq, self.doc_id, self.owner_id)
    }

    fn parse_line(line: &str) -> Option<Self> {
        let (seq, rest) = line.split_once(' ')?;
        let (doc, owner) = rest.split_once(' ').unwrap_or((rest, ""));
        let id = DocId::parse(doc).ok()?;
        // An instance of an older version sends no owner: an owned id
        // names it.
        let owner = match id.owner() {
            Some(o) if owner.is_empty() => o.to_string(),
            _ => owner.to_owned(),
        };
        Some(Self::new(&id, &owner, seq.parse().ok()?))
    }
}

/// The payloads announcing `changes`: lines `"{seq} {doc_id}"`, as few
/// payloads as fit under PostgreSQL's limit.
pub(crate) fn payloads(changes: &[DocChange]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in changes.iter().map(DocChange::line) {
        match out.last_mut() {
            Some(p) if p.len() + 1 + line.len() <= MAX_PAYLOAD => {
                p.push('\n');
                p.push_str(&line);
            }
            _ => out.push(line),
        }
    }
    out
}

/// The changes one payload announces (lines that do not parse are skipped
/// with a warning: another program may share the channel).
pub(crate) fn parse_payload(payload: &str) -> Vec<DocChange> {
    payload
        .lines()
        .filter_map(|l| {
            let c = DocChange::parse_line(l);
            if c.is_none() {
                tracing::warn!(line = l, "ignoring a malformed change notification");
            }
            c
        })
        .collect()
}

pub(crate) fn channel() -> broadcast::Sender<Feed> {
    broadcast::channel(CAPACITY).0
}

/// Listen on PostgreSQL for commits of every instance and announce them,
/// until the task is aborted.
pub(crate) async fn listen(pool: PgPool, feed: broadcast::Sender<Feed>) {
    loop {
        let mut listener = match connect(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes on PostgreSQL; retrying");
                let _ = feed.send(Feed::Gap);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    for c in parse_payload(n.payload()) {
                        let _ = feed.send(Feed::Changed(c));
                    }
                }
                // The connection was lost; the next call reconnects and
                // listens again, but what was sent meanwhile is gone.
                Ok(None) => {
                    tracing::warn!("the change listener lost its connection; reconnecting");
                    let _ = feed.send(Feed::Gap);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the change listener failed; reconnecting");
                    let _ = feed.send(Feed::Gap);
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: i64) -> DocChange {
        DocChange::new(
            &DocId::parse(&format!("diary:u{n}:2026-11-17")).unwrap(),
            &format!("u{n}"),
            n,
        )
    }

    #[test]
    fn payloads_round_trip_and_stay_under_the_limit() {
        let changes: Vec<DocChange> = (1..=1_000).map(change).collect();
        let payloads = payloads(&changes);
        assert!(payloads.len() > 1, "1,000 changes need several payloads");
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let back: Vec<DocChange> = payloads.iter().flat_map(|p| parse_payload(p)).collect();
        assert_eq!(back, changes);
        assert_eq!(back[0].owner_id, "u1");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let got = parse_payload("12 diary:u1:2026-11-17\nnonsense\nx diary:u1:2026-11-17");
        assert_eq!(got, vec![change(1).with_seq(12)]);
        let item = "item:0123456789abcdef0123456789abcdef";
        let got = parse_payload(&format!("13 {item} u7"));
        assert_eq!(got[0].owner_id, "u7");
    }

    impl DocChange {
        fn with_seq(mut self, seq: i64) -> Self {
            self.seq = seq;
            self
        }
    }
}

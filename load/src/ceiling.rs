//! The in-process ceiling of a run (issue 7): the same first requests the
//! phones sent, answered by the server's sync alone
//! (`sync_core::session::serve` on an in-memory store with no write policy)
//! in this process, one thread per core. What it costs is Automerge's own
//! work for these documents — decoding each message, loading the document,
//! checking it, acknowledging it — without HTTP, the database, durability
//! or write authorization: how fast the sync could be if everything around
//! Automerge were free.

use std::time::Instant;

use anyhow::Context;
use sync_core::memory::MemoryServer;
use sync_core::protocol::{Batch, EntryBody};
use sync_core::session::{serve, AllowAll};

/// The ceiling measured right before and right after the sync phase, on
/// the same requests. A shared VM's speed drifts by more than 10% over a
/// few minutes (2026-12-05: 2,300 to 3,700 documents/s on one machine, run
/// to run), so the sync is compared with the mean of the two, which a
/// steady drift over the run does not bias.
#[derive(Debug, Clone)]
pub struct Ceilings {
    pub before: Ceiling,
    pub after: Ceiling,
}

impl Ceilings {
    pub fn docs_per_sec(&self) -> f64 {
        (self.before.docs_per_sec + self.after.docs_per_sec) / 2.0
    }
}

#[derive(Debug, Clone)]
pub struct Ceiling {
    pub documents: u64,
    pub threads: usize,
    pub secs: f64,
    pub docs_per_sec: f64,
}

/// Answer every request in `requests` (encoded batches) on `threads`
/// threads, each request against a fresh in-memory server, as a server
/// that had never seen the documents; documents per second of wall time.
pub async fn measure(requests: Vec<Vec<u8>>, threads: usize) -> anyhow::Result<Ceiling> {
    let threads = threads.max(1);
    let per_thread = requests.len().div_ceil(threads);
    let mut groups: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut rest = requests.into_iter().peekable();
    while rest.peek().is_some() {
        groups.push(rest.by_ref().take(per_thread).collect());
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for group in groups {
        tasks.spawn_blocking(move || {
            let mut acknowledged = 0u64;
            for body in group {
                let request = Batch::decode(&body).context("a prepared request does not decode")?;
                let mut server = MemoryServer::new();
                let reply = serve(&mut server, &AllowAll, "ceiling", &request)
                    .context("the in-process server failed")?;
                acknowledged += reply
                    .entries
                    .iter()
                    .filter(|e| matches!(e.body, EntryBody::Sync(_)))
                    .count() as u64;
            }
            Ok::<_, anyhow::Error>(acknowledged)
        });
    }
    let mut documents = 0;
    while let Some(done) = tasks.join_next().await {
        documents += done.context("a ceiling thread panicked")??;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(Ceiling {
        documents,
        threads,
        secs,
        docs_per_sec: documents as f64 / secs.max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::memory::MemoryReplica;
    use sync_core::session::ClientSession;
    use sync_core::Actor;

    /// A week written by the load generator's phone, replayed: every
    /// document is acknowledged, on any number of threads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_document_of_the_replayed_requests_is_acknowledged() {
        let mut requests = Vec::new();
        let shape = crate::week::WeekShape {
            first_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            days: 7,
            entries_per_diary: 8,
        };
        for index in 0..3 {
            let user = crate::seed::cadre_user(index).unwrap();
            let mut phone = MemoryReplica::new(Actor::random());
            crate::week::write_cadre_week(&mut phone, &user, index, shape).unwrap();
            let mut session = ClientSession::new(&mut phone).unwrap();
            requests.push(session.next_request(&mut phone).unwrap().unwrap().encode());
        }
        for threads in [1, 2, 5] {
            let c = measure(requests.clone(), threads).await.unwrap();
            assert_eq!(c.documents, 3 * 14, "{threads} threads: {c:?}");
            assert!(c.docs_per_sec > 0.0);
        }
    }
}

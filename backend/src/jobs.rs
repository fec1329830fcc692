//! The server's scheduled work, run by every instance and done by one:
//! the Monday publication (under a lease in the database) and the hourly
//! clean-up of photos, partial uploads, event-stream leases and attempt
//! counters.

use std::time::Duration;

use crate::state::AppState;

/// Once a minute, from Monday 08:00 (UTC+8) on, make last week's
/// publication of every publishing unit that has none yet: on time, caught
/// up after downtime, and once whatever the number of instances (one
/// instance holds the job's lease and does the work; the database keeps
/// one publication per unit and week whatever happens).
pub async fn publish_every_monday(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        publish_due(&state, crate::china::now()).await;
    }
}

/// The lease name of the Monday publication job.
pub const PUBLICATION_JOB: &str = "weekly-publication";
/// How long an instance holds a job after its last round: if it dies,
/// another takes over after this.
const JOB_LEASE_MS: i64 = 5 * 60 * 1000;

/// One round of the Monday task at `now`: if this week's Monday hour has
/// come, make last week's publication of every publishing unit that has
/// none and publishes by itself (a unit whose leader approves it waits for
/// him). Returns how many it made.
pub async fn publish_due(state: &AppState, now: chrono::DateTime<chrono::FixedOffset>) -> usize {
    let this_week = crate::publications::week::IsoWeek::of(now.date_naive());
    let due = this_week
        .monday()
        .and_hms_opt(state.config.publish_hour, 0, 0)
        .is_some_and(|at| now.naive_local() >= at);
    if !due {
        return 0;
    }
    // Another instance on the same database is doing it.
    match state
        .store
        .take_lease(PUBLICATION_JOB, &state.instance, JOB_LEASE_MS)
        .await
    {
        Ok(true) => {}
        Ok(false) => return 0,
        Err(e) => {
            tracing::warn!(error = %e, "cannot take the publication job's lease");
            return 0;
        }
    }
    let units = match state.store.publishing_units().await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the publishing units");
            return 0;
        }
    };
    let week = this_week.previous();
    let mut made = 0;
    for unit in units {
        use crate::publications::Published;
        match crate::publications::publish_unless_approval(
            &state.store,
            &unit,
            week,
            &state.config.holidays,
        )
        .await
        {
            Ok(Published::Done(_, true)) => made += 1,
            Ok(Published::Done(_, false)) => {}
            Ok(Published::AwaitsApproval) => {
                tracing::debug!(unit, %week, "weekly notice awaits a leader's approval")
            }
            Err(e) => tracing::warn!(unit, %week, error = %e, "weekly publication failed"),
        }
    }
    made
}

/// Every hour, remove photos no document has referenced for the grace
/// period (an upload whose document never arrived), and clean photos stored
/// as uploaded before the server cleaned photos.
pub async fn collect_garbage_forever(state: AppState) {
    let grace_ms = state.config.blob_grace_secs.saturating_mul(1000) as i64;
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match crate::photos::gc::collect_garbage(&state, grace_ms).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed unreferenced photos"),
            Err(e) => tracing::warn!(error = %e, "photo garbage collection failed"),
        }
        match crate::photos::gc::clean_stored_photos(&state, 1000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(cleaned = n, "cleaned photos stored as uploaded"),
            Err(e) => tracing::warn!(error = %e, "cleaning stored photos failed"),
        }
        let grace = Duration::from_secs(state.config.blob_grace_secs);
        match state.blobs.collect_stale_staged(grace).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed abandoned partial uploads"),
            Err(e) => tracing::warn!(error = %e, "partial upload clean-up failed"),
        }
        // Leases of event streams whose instance died; attempt counters
        // no limit reads any more.
        if let Err(e) = state.store.remove_expired_event_streams().await {
            tracing::warn!(error = %e, "removing expired event-stream leases failed");
        }
        if let Err(e) = state.store.remove_old_attempts().await {
            tracing::warn!(error = %e, "removing old attempt counters failed");
        }
    }
}

//! The server's scheduled work, run by every instance and done by one:
//! the notices (the Monday publication, the month's start and end; under
//! a lease in the database) and the hourly
//! clean-up of photos, partial uploads, event-stream leases and attempt
//! counters.

use std::time::Duration;

use chrono::Datelike;

use crate::publications::monthly::{MonthKey, MonthPart};
use crate::publications::week::IsoWeek;
use crate::publications::Period;
use crate::state::AppState;

/// Once a minute, make the notices due (`due_periods`: from Monday 08:00
/// UTC+8 last week's, and the month's) of every publishing unit that has
/// none yet: on time, caught
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

/// The notices due at `now` that the scheduled task makes: last week's
/// from this Monday's publish hour; this month's 晒承诺 from its first
/// workday's publish hour; last month's month-end notice once its review
/// deadline has passed.
pub fn due_periods(
    config: &crate::config::Config,
    calendar: &crate::calendar::Calendar,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> Vec<Period> {
    let today = now.date_naive();
    let this_week = IsoWeek::of(today);
    let this_month = today.with_day(1).unwrap_or(today);
    let last_month = this_month.pred_opt().map(|d| d.with_day(1).unwrap_or(d));
    let mut periods = vec![Period::Week(this_week.previous())];
    periods.push(Period::Month(MonthKey {
        first: this_month,
        part: MonthPart::Start,
    }));
    if let Some(first) = last_month {
        periods.push(Period::Month(MonthKey {
            first,
            part: MonthPart::End,
        }));
    }
    let at = now.timestamp_millis();
    periods.retain(|p| at >= p.due_ms(config, calendar));
    periods
}

/// The notices due at `now` in each county (a top unit), by its calendar.
async fn due_by_county(
    state: &AppState,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> Result<std::collections::HashMap<String, Vec<Period>>, crate::storage::StoreError> {
    let mut out = std::collections::HashMap::new();
    for unit in state.store.units().await? {
        if unit.parent_id.is_none() {
            let calendar = crate::calendar::Calendar::load(&state.store, &unit.id).await?;
            out.insert(unit.id, due_periods(&state.config, &calendar, now));
        }
    }
    Ok(out)
}

/// One round of the scheduled task at `now`: make every notice due
/// (`due_periods`) of every publishing unit that has none and publishes by
/// itself (a unit whose leader approves it waits for him). Returns how
/// many it made.
pub async fn publish_due(state: &AppState, now: chrono::DateTime<chrono::FixedOffset>) -> usize {
    // What is due in each county, by its calendar.
    let due = match due_by_county(state, now).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the counties' calendars");
            return 0;
        }
    };
    if due.values().all(Vec::is_empty) {
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
    let mut made = 0;
    for unit in units {
        let county = match crate::calendar::county_of(&state.store, &unit).await {
            Ok(c) => c.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(unit, error = %e, "cannot find the unit's county");
                continue;
            }
        };
        let periods = due.get(&county).map_or(&[][..], Vec::as_slice);
        for &period in periods {
            use crate::publications::Published;
            match crate::publications::publish_unless_approval(state, &unit, period).await {
                Ok(Published::Done(_, true)) => made += 1,
                Ok(Published::Done(_, false)) => {}
                Ok(Published::AwaitsApproval) => {
                    tracing::debug!(unit, %period, "notice awaits a leader's approval")
                }
                Ok(Published::Empty) => {
                    tracing::debug!(unit, %period, "month notice has nothing to show")
                }
                Err(e) => tracing::warn!(unit, %period, error = %e, "publication failed"),
            }
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
        // Spent proofs of work of the public case form that expired.
        if let Err(e) = state.store.remove_spent_pow().await {
            tracing::warn!(error = %e, "removing expired proofs of work failed");
        }
    }
}

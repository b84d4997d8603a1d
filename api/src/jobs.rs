//! Background jobs of every instance: releasing expired credit holds, the
//! challenge clock (open → judging at `closes_at`), returning review seats
//! whose claim's lease ran out to the queue (and keeping the seats in step
//! with their challenges), forgetting old idempotency keys, ending tier
//! grace periods and re-evaluating talents after a requirements change,
//! signing re-issued certificates, giving older certificates their
//! status-list entries and signing changed or ageing status lists. Each step is safe to run on several
//! instances at once (guarded updates, plain deletes).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::state::AppState;

/// Starts the jobs; abort the handle to stop them.
pub fn spawn(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(sweep(state))
}

async fn sweep(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(
        state.settings.hold_sweep_interval_seconds,
    ));
    // Whether every certificate has a status-list entry (then this
    // instance stops looking).
    let mut listed = false;
    loop {
        tick.tick().await;
        match kartel_domain::ledger::sweep_expired_holds(&state.db, 500).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "released expired credit holds"),
            Err(e) => tracing::warn!(error = %e, "sweeping expired holds failed"),
        }
        match kartel_domain::challenges::advance_clock(&state.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(moved = n, "challenges past their close moved to judging"),
            Err(e) => tracing::warn!(error = %e, "moving closed challenges to judging failed"),
        }
        match kartel_domain::challenges::expire_leases(&state.db, 500).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                expired = n,
                "review claims past their lease went back to the queue"
            ),
            Err(e) => tracing::warn!(error = %e, "expiring review claims failed"),
        }
        match kartel_domain::challenges::sweep_seats(&state.db, kartel_domain::now()).await {
            Ok((0, 0)) => {}
            Ok((opened, voided)) => tracing::info!(
                opened,
                voided,
                "review seats kept in step with their challenges"
            ),
            Err(e) => tracing::warn!(error = %e, "sweeping review seats failed"),
        }
        let retention = chrono::Duration::hours(state.settings.idempotency_retention_hours);
        match kartel_domain::idempotency::forget_keys(&state.db, retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(forgotten = n, "forgot expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "forgetting old idempotency keys failed"),
        }
        match kartel_domain::mail::forget_sent(&state.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(forgotten = n, "deleted mail sent a week ago"),
            Err(e) => tracing::warn!(error = %e, "deleting old mail failed"),
        }
        match kartel_domain::tiers::end_grace_periods(&state.db, TIER_BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                moved = n,
                "tiers whose grace period ended were re-evaluated"
            ),
            Err(e) => tracing::warn!(error = %e, "ending tier grace periods failed"),
        }
        match kartel_domain::tiers::sign_pending(&state.db, &state.keys, None).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(signed = n, "re-issued certificates signed"),
            Err(e) => tracing::warn!(error = %e, "signing re-issued certificates failed"),
        }
        if !listed {
            // Certificates issued before status lists, a batch a round until
            // none is left (every later one gets its entry when signed).
            match kartel_domain::tiers::give_entries(&state.db, &state.keys, None, 500).await {
                Ok(0) => listed = true,
                Ok(n) => tracing::info!(given = n, "certificates given a status-list entry"),
                Err(e) => {
                    tracing::warn!(error = %e, "giving certificates status-list entries failed")
                }
            }
        }
        match kartel_domain::tiers::republish_lists(&state.db, &state.keys).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(signed = n, "status lists signed again"),
            Err(e) => tracing::warn!(error = %e, "signing status lists failed"),
        }
        match kartel_domain::pods::expire_nominations(&state.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "pending nominations expired"),
            Err(e) => tracing::warn!(error = %e, "expiring nominations failed"),
        }
        reevaluate(&state).await;
        state.runs.job_sweeps.inc();
    }
}

/// Talents evaluated per transaction by the tier jobs.
const TIER_BATCH: u64 = 100;

/// Batches one run of the re-evaluation job works through at most.
const REEVALUATION_BATCHES_PER_RUN: usize = 50;

/// Runs the pending re-evaluations batch by batch until none is left (also
/// picks up one an instance left unfinished).
async fn reevaluate(state: &AppState) {
    // Bounded, so the other jobs of the tick are not held up; the next tick
    // goes on.
    for _ in 0..REEVALUATION_BATCHES_PER_RUN {
        match kartel_domain::tiers::reevaluate_batch(&state.db, TIER_BATCH).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                tracing::warn!(error = %e, "re-evaluating tiers failed");
                break;
            }
        }
    }
}

/// Starts re-evaluating now, in the background (after a requirements change).
pub fn reevaluate_now(state: Arc<AppState>) {
    tokio::spawn(async move { reevaluate(&state).await });
}

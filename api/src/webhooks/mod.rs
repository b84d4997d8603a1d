//! The webhook loops of an instance (see `kartel_domain::webhooks`): the
//! dispatcher, woken when the events' head moves (the sequencer's watch),
//! turns new events into deliveries; the delivery worker keeps up to
//! `KARTEL_WEBHOOK_CONCURRENCY` deliveries in flight, each leased, sent
//! ([`sender`]) and recorded. Both hold their own handles, never the
//! application state, and never run on a request's path.

pub mod sender;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kartel_domain::webhooks::{self, Due, Recorded, RetryPolicy};
use prometheus::{IntCounter, IntCounterVec};
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::configuration::Settings;
use sender::Sender;

/// Events per dispatch transaction.
const DISPATCH_BATCH: u64 = 1000;
/// Messages forgotten per pruning statement.
const PRUNE_BATCH: u64 = 1000;
/// How often old messages are pruned (in dispatcher rounds at most).
const PRUNE_EVERY: Duration = Duration::from_secs(600);

pub struct Webhooks {
    db: DatabaseConnection,
    sender: Sender,
    policy: RetryPolicy,
    concurrency: usize,
    poll: Duration,
    /// Longer than the worst attempt: of several workers one sends a
    /// delivery at a time.
    lease: chrono::Duration,
    retention: chrono::Duration,
    wake: Notify,
    stopping: AtomicBool,
    polls: IntCounter,
    attempts: IntCounterVec,
}

impl Webhooks {
    pub fn new(
        settings: &Settings,
        db: DatabaseConnection,
        polls: IntCounter,
        attempts: IntCounterVec,
    ) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(settings.webhook_timeout_seconds);
        Ok(Self {
            db,
            sender: Sender::new(timeout, settings.webhook_allow_private)?,
            policy: RetryPolicy {
                schedule: settings
                    .webhook_retry_waits()
                    .map_err(|e| anyhow::anyhow!(e))?,
                disable_after: chrono::Duration::seconds(settings.webhook_disable_after_seconds),
                jitter: true,
            },
            concurrency: settings.webhook_concurrency,
            poll: Duration::from_millis(settings.webhook_poll_millis),
            lease: chrono::Duration::seconds(4 * settings.webhook_timeout_seconds as i64 + 30),
            retention: chrono::Duration::days(settings.webhook_retention_days),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            polls,
            attempts,
        })
    }

    /// Deliveries were written: look for due ones now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Stops the worker once the deliveries in flight are recorded.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Starts the dispatcher, woken by `head`; abort the handle to stop it.
pub fn spawn_dispatcher(w: Arc<Webhooks>, mut head: watch::Receiver<i64>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut pruned = tokio::time::Instant::now();
        loop {
            let mut backlog = false;
            match webhooks::dispatch(&w.db, DISPATCH_BATCH).await {
                Ok(d) => {
                    if d.deliveries > 0 {
                        w.poke();
                    }
                    backlog = d.events == DISPATCH_BATCH;
                }
                Err(e) => tracing::warn!(error = %e, "dispatching webhooks failed"),
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = tokio::time::Instant::now();
                let before = kartel_domain::now() - w.retention;
                if let Err(e) = webhooks::prune(&w.db, before, PRUNE_BATCH).await {
                    tracing::warn!(error = %e, "pruning old webhook messages failed");
                }
            }
            if backlog {
                continue;
            }
            tokio::select! {
                changed = head.changed() => {
                    if changed.is_err() {
                        // The sequencer is gone: fall back to polling.
                        tokio::time::sleep(w.poll).await;
                    }
                }
                _ = tokio::time::sleep(w.poll) => {}
            }
        }
    })
}

/// Starts the delivery worker; `Webhooks::stop` ends it (await the handle
/// to let the deliveries in flight be recorded).
pub fn spawn_worker(w: Arc<Webhooks>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut flying = JoinSet::new();
        loop {
            if w.is_stopping() {
                while flying.join_next().await.is_some() {}
                return;
            }
            // Refill in batches, when half the slots are free (or all): a
            // lease per finished delivery cost a query each under load.
            let free = w.concurrency.saturating_sub(flying.len());
            if free > 0 && (flying.is_empty() || 2 * free >= w.concurrency) {
                match webhooks::lease_due(&w.db, free as u64, w.lease).await {
                    Ok(due) => {
                        for d in due {
                            flying.spawn(deliver(w.clone(), d));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "leasing webhook deliveries failed"),
                }
                w.polls.inc();
            }
            tokio::select! {
                Some(_) = flying.join_next(), if !flying.is_empty() => {}
                _ = w.wake.notified() => {}
                _ = tokio::time::sleep(w.poll) => {}
            }
        }
    })
}

async fn deliver(w: Arc<Webhooks>, due: Due) {
    let answer = w.sender.send(&due).await;
    let outcome = match webhooks::record(&w.db, &due, &answer, &w.policy).await {
        Ok(o) => o,
        Err(e) => {
            // The lease runs out and the delivery is tried again.
            tracing::warn!(delivery = %due.delivery_id, error = %e, "recording a webhook attempt failed");
            return;
        }
    };
    let label = match &outcome {
        Recorded::Delivered => "delivered",
        Recorded::Retry(at) => {
            tracing::info!(delivery = %due.delivery_id, endpoint = %due.endpoint_id, status = ?answer.status, error = ?answer.error, retry_at = %at, "webhook not delivered; will retry");
            "retry"
        }
        Recorded::Failed => {
            tracing::warn!(delivery = %due.delivery_id, endpoint = %due.endpoint_id, status = ?answer.status, error = ?answer.error, "webhook delivery failed for good");
            "failed"
        }
        Recorded::LeaseLost => "lease_lost",
    };
    w.attempts.with_label_values(&[label]).inc();
}

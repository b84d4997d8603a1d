//! The sequencer loop of every instance: every `KARTEL_EVENT_SEQUENCE_MILLIS`
//! it gives committed events their place in the one order
//! (`kartel_domain::events::sequence`; on PostgreSQL one instance at a time,
//! the others find the work done), then reads the highest position given
//! and announces it on this instance's [`EventsHead`], which the readers of
//! events (webhooks, the live stream) wait on instead of polling the
//! database each. A backlog is worked through batch by batch without
//! waiting.

use std::sync::Arc;
use std::time::Duration;

use prometheus::IntGauge;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Events placed per transaction.
const BATCH: u64 = 1000;

/// The highest event position this instance has seen; `subscribe` to be
/// woken when it moves.
pub struct EventsHead(watch::Sender<i64>);

impl EventsHead {
    pub fn new() -> Self {
        Self(watch::Sender::new(0))
    }

    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.0.subscribe()
    }

    pub fn get(&self) -> i64 {
        *self.0.borrow()
    }

    fn set(&self, head: i64) {
        self.0.send_if_modified(|h| {
            let moved = head > *h;
            if moved {
                *h = head;
            }
            moved
        });
    }
}

impl Default for EventsHead {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts the loop over `db`, announcing on `head` and `gauge`, pausing
/// `pause` when no backlog is left; abort the handle to stop it. It holds
/// its own handles, not the application state.
pub fn spawn(
    db: DatabaseConnection,
    pause: Duration,
    head: Arc<EventsHead>,
    gauge: IntGauge,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let placed = match kartel_domain::events::sequence(&db, BATCH).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "sequencing events failed");
                    0
                }
            };
            match kartel_domain::events::head(&db).await {
                Ok(h) => {
                    head.set(h);
                    gauge.set(h);
                }
                Err(e) => tracing::warn!(error = %e, "reading the events' head failed"),
            }
            if placed < BATCH {
                tokio::time::sleep(pause).await;
            }
        }
    })
}

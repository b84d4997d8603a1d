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

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

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

/// Starts the loop; abort the handle to stop it.
pub fn spawn(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(run(state))
}

async fn run(state: Arc<AppState>) {
    let pause = Duration::from_millis(state.settings.event_sequence_millis);
    loop {
        let placed = match kartel_domain::events::sequence(&state.db, BATCH).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "sequencing events failed");
                0
            }
        };
        match kartel_domain::events::head(&state.db).await {
            Ok(head) => {
                state.events_head.set(head);
                state.runs.events_position.set(head);
            }
            Err(e) => tracing::warn!(error = %e, "reading the events' head failed"),
        }
        if placed < BATCH {
            tokio::time::sleep(pause).await;
        }
    }
}

//! The live stream's shared half: one reader per instance (the [`Hub`]).
//! When this instance's sequencer announces a higher event position
//! (`AppState::events_head`), the hub reads the new events from the outbox
//! once (`events::after`), renders each once as an SSE frame with its
//! audience, and fans the frames out in process (a tokio broadcast) to every
//! open stream, which keeps those that concern its person and topics
//! (`routes/stream/follow.rs`). So every instance learns of every event by polling the
//! shared outbox through its own sequencer (no Redis needed), at one
//! database read per batch of new events, whatever the number of streams;
//! a stream reads the database itself only to resume from `Last-Event-ID`
//! or after falling behind the broadcast.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix_web_lab::sse;
use kartel_domain::events::{self, Audience, Positioned};
use prometheus::IntGauge;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::sequencer::EventsHead;

/// Events read per query, by the hub and by a stream catching up.
pub const PAGE: u64 = 500;
/// Frames the broadcast keeps for streams that have not taken them yet; a
/// stream further behind reads its gap from the database.
const BACKLOG: usize = 4096;
/// The pause after a failed read of the outbox.
const RETRY: Duration = Duration::from_secs(1);

/// One event, rendered once for every stream of the instance.
pub struct Frame {
    pub position: i64,
    pub audience: Audience,
    /// The person whose account this event may have stopped.
    pub stops: Option<Uuid>,
    /// `id:` (the position), `event:` (the kind), `data:` (its JSON).
    pub data: sse::Data,
}

impl Frame {
    pub fn of(e: &Positioned) -> Self {
        let stored = &e.stored;
        // The one outward form (thin: no free text or personal data).
        let data =
            serde_json::to_string(&events::public(stored)).unwrap_or_else(|_| "{}".to_owned());
        Self {
            position: e.position,
            audience: events::audience(stored.subject_id, &stored.event),
            stops: events::stops_access(stored.subject_id, &stored.event),
            data: sse::Data::new(data)
                .id(e.position.to_string())
                .event(stored.event.kind().as_str()),
        }
    }
}

/// The instance's reader of new events and their fan-out.
pub struct Hub {
    frames: broadcast::Sender<Arc<Frame>>,
    /// Every event up to here has been sent to the broadcast.
    position: AtomicI64,
    /// `kartel_streams_open`.
    pub open: IntGauge,
}

impl Hub {
    /// A hub that goes on from `position` (the outbox's head when the
    /// instance starts, read before it accepts a stream).
    pub fn new(position: i64) -> anyhow::Result<Self> {
        Ok(Self {
            frames: broadcast::Sender::new(BACKLOG),
            position: AtomicI64::new(position),
            open: IntGauge::new(
                "kartel_streams_open",
                "Live streams (GET /api/v1/stream) open on this instance",
            )?,
        })
    }

    /// Frames from now on: subscribe before reading the database, so that
    /// what was not in the database yet comes through here.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Frame>> {
        self.frames.subscribe()
    }

    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// Reads the events after the hub's position up to `head` and sends
    /// them out, in order.
    async fn catch_up(
        &self,
        db: &DatabaseConnection,
        head: i64,
    ) -> kartel_domain::error::Result<()> {
        let mut at = self.position();
        while at < head {
            let page = events::after(db, at, &[], PAGE).await?;
            let Some(last) = page.last().map(|e| e.position) else {
                break;
            };
            for e in &page {
                // No receiver is not an error: nobody is listening now.
                let _ = self.frames.send(Arc::new(Frame::of(e)));
            }
            at = last;
            self.position.store(at, Ordering::Release);
        }
        Ok(())
    }
}

/// Starts the hub's loop: wakes when `head` moves and sends the new
/// events out. It holds its own handles; abort it to stop.
pub fn spawn(db: DatabaseConnection, head: Arc<EventsHead>, hub: Arc<Hub>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut moved = head.subscribe();
        loop {
            let target = *moved.borrow_and_update();
            if target > hub.position()
                && let Err(e) = hub.catch_up(&db, target).await
            {
                tracing::warn!(error = %e, "the live stream's reader could not read the outbox");
                tokio::time::sleep(RETRY).await;
                continue;
            }
            if moved.changed().await.is_err() {
                return;
            }
        }
    })
}

//! One open stream: where it starts (the newest event, or after a
//! `Last-Event-ID` within the resume window, or an `event: reset`), the
//! frames of the hub it keeps (its person's own events and its topics),
//! the gap it reads from the database when it resumes or falls behind, the
//! keep-alive, and its end when the person's session or account stops.
//!
//! Its `cursor` is the last position it has *looked at* (sent or not), so
//! whatever arrives — a page from the database, a frame of the broadcast —
//! is taken only if it is the very next position: a frame further on means
//! a gap, read from the database; one at or below the cursor was seen.
//!
//! The account is checked on each keep-alive (through the session cache,
//! like every signed-in request) and at once, in the database, on an event
//! that may have stopped it (`user.suspended`, `user.erased` of the
//! person): a suspended or erased account's stream ends within an event's
//! latency on every instance (every instance reads the outbox), a
//! signed-out session's within a keep-alive.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web_lab::sse;
use futures::Stream;
use kartel_domain::events::{self, Topic};
use kartel_domain::{Caller, UserCaller, accounts, policy};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::error::{ApiError, ApiResult};
use crate::state::State;
use crate::stream::{Frame, PAGE};

/// Where a stream begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// With the next event placed from now on.
    Now,
    /// After this position, reading the gap from the database.
    After(i64),
    /// The client's `Last-Event-ID` cannot be resumed (why): it is told to
    /// reload with `event: reset`, and the stream goes on from now.
    Reset(&'static str),
}

impl Start {
    /// Reads a `Last-Event-ID` against the newest position `head`: within
    /// `window` events of it, the stream resumes; past the head (another
    /// database, a restore), too old, or not a position, it resets.
    pub fn from_last_event_id(id: Option<&str>, head: i64, window: i64) -> Self {
        let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
            return Self::Now;
        };
        match id.parse::<i64>() {
            Ok(p) if p < 0 => Self::Reset("malformed"),
            Ok(p) if p > head => Self::Reset("unknown_position"),
            Ok(p) if head - p > window => Self::Reset("beyond_retention"),
            Ok(p) => Self::After(p),
            Err(_) => Self::Reset("malformed"),
        }
    }
}

/// An open stream of one person's session.
pub struct Follow {
    st: State,
    person: UserCaller,
    topics: Vec<Topic>,
    frames: broadcast::Receiver<Arc<Frame>>,
    /// Every position up to here has been looked at.
    cursor: i64,
    catching_up: bool,
    pending: VecDeque<sse::Event>,
    keep_alive: Interval,
    ended: bool,
}

impl Follow {
    /// Opens a stream for `person` (already authorised for `topics`) from
    /// `last_event_id`. It subscribes to the hub before it reads the
    /// outbox's head, so nothing placed in between is missed.
    pub async fn open(
        st: State,
        person: UserCaller,
        topics: Vec<Topic>,
        last_event_id: Option<&str>,
    ) -> ApiResult<Self> {
        let frames = st.stream.subscribe();
        let head = events::head(&st.db).await?;
        let window = st.settings.stream_resume_events;
        let start = Start::from_last_event_id(last_event_id, head, window);
        let period = Duration::from_secs(st.settings.stream_keep_alive_seconds);
        let mut keep_alive = tokio::time::interval_at(Instant::now() + period, period);
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pending = VecDeque::new();
        let cursor = match start {
            Start::Now => head,
            Start::After(p) => p,
            Start::Reset(reason) => {
                let reset = serde_json::json!({ "reason": reason, "position": head });
                pending.push_back(
                    sse::Data::new(reset.to_string())
                        .event("reset")
                        .id(head.to_string())
                        .into(),
                );
                head
            }
        };
        st.stream.open.inc();
        Ok(Self {
            catching_up: matches!(start, Start::After(_)),
            st,
            person,
            topics,
            frames,
            cursor,
            pending,
            keep_alive,
            ended: false,
        })
    }

    /// The stream's events, for `sse::Sse::from_stream`.
    pub fn into_stream(self) -> impl Stream<Item = Result<sse::Event, Infallible>> {
        futures::stream::unfold(self, |mut f| async move {
            let event = f.next().await?;
            Some((Ok(event), f))
        })
    }

    async fn next(&mut self) -> Option<sse::Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            if self.catching_up {
                self.read_gap().await;
                continue;
            }
            tokio::select! {
                got = self.frames.recv() => match got {
                    Ok(frame) if frame.position <= self.cursor => {}
                    Ok(frame) if frame.position > self.cursor + 1 => self.catching_up = true,
                    Ok(frame) => self.look_at(&frame).await,
                    Err(RecvError::Lagged(_)) => self.catching_up = true,
                    Err(RecvError::Closed) => self.end("shutting_down"),
                },
                _ = self.keep_alive.tick() => {
                    if self.still_allowed(false).await {
                        self.pending.push_back(sse::Event::Comment("keep-alive".into()));
                    }
                }
            }
        }
    }

    /// One page of the events after the cursor, from the database; caught
    /// up when the page is not full (later ones come through the hub).
    async fn read_gap(&mut self) {
        match events::after(&self.st.db, self.cursor, &[], PAGE).await {
            Ok(page) => {
                self.catching_up = page.len() as u64 == PAGE;
                for e in &page {
                    self.look_at(&Frame::of(e)).await;
                    if self.ended {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a live stream could not read the outbox");
                // The client comes back with its Last-Event-ID.
                self.end("unavailable");
            }
        }
    }

    async fn look_at(&mut self, frame: &Frame) {
        self.cursor = frame.position;
        if frame.audience.reaches(self.person.id, &self.topics) {
            self.pending.push_back(sse::Event::Data(frame.data.clone()));
        }
        if frame.stops == Some(self.person.id) {
            self.still_allowed(true).await;
        }
    }

    /// Whether the session and account still stand and may still follow
    /// the topics; ends the stream when not. The keep-alive asks through
    /// the session cache, as a request would; an event that may have
    /// stopped the account asks the database (`fresh`): the change's
    /// revocation may not have reached the cache yet.
    async fn still_allowed(&mut self, fresh: bool) -> bool {
        let (db, id, session) = (&self.st.db, self.person.id, self.person.session_id);
        let checked = if fresh {
            accounts::authenticate(db, id, session)
                .await
                .map_err(ApiError::from)
        } else {
            self.st.sessions.authenticate(db, id, session).await
        };
        let Ok(person) = checked else {
            self.end("access_ended");
            return false;
        };
        let caller = Caller::User(person);
        if self
            .topics
            .iter()
            .any(|t| policy::may_follow(&caller, *t).is_err())
        {
            self.end("topics_forbidden");
            return false;
        }
        if let Caller::User(person) = caller {
            self.person = person;
        }
        true
    }

    /// Ends the stream after an `event: end` saying why.
    fn end(&mut self, reason: &str) {
        if !self.ended {
            let end = serde_json::json!({ "reason": reason });
            self.pending
                .push_back(sse::Data::new(end.to_string()).event("end").into());
            self.ended = true;
        }
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.st.stream.open.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::Start;

    #[test]
    fn a_last_event_id_resumes_only_within_the_window() {
        let from = |id| Start::from_last_event_id(id, 1000, 100);
        assert_eq!(from(None), Start::Now);
        assert_eq!(from(Some("")), Start::Now);
        assert_eq!(from(Some("950")), Start::After(950));
        assert_eq!(from(Some("900")), Start::After(900));
        assert_eq!(from(Some("1000")), Start::After(1000));
        assert_eq!(from(Some("899")), Start::Reset("beyond_retention"));
        assert_eq!(from(Some("1001")), Start::Reset("unknown_position"));
        assert_eq!(from(Some("-1")), Start::Reset("malformed"));
        assert_eq!(from(Some("abc")), Start::Reset("malformed"));
    }
}

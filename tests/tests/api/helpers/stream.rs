//! The live stream: opening it (with a token or a ticket, a `Last-Event-ID`,
//! topics), asking for tickets, and [`Sse`], a reader of the event stream
//! that hands over one event at a time.

use std::time::Duration;

use reqwest::Response;
use serde_json::Value;

use super::{TestApp, User};

/// One event of the stream (comments are counted, not returned).
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

/// An open stream, read event by event.
pub struct Sse {
    res: Response,
    buf: String,
    /// `retry:` as the stream sent it.
    pub retry: Option<u64>,
    /// Comments seen (the keep-alives).
    pub comments: usize,
    closed: bool,
}

impl Sse {
    pub fn new(res: Response) -> Self {
        assert_eq!(res.status(), 200, "the stream did not open");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Self {
            res,
            buf: String::new(),
            retry: None,
            comments: 0,
            closed: false,
        }
    }

    /// The next event within `wait`; `None` when the stream closed. Panics
    /// when nothing came in time.
    pub async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        match tokio::time::timeout(wait, self.next()).await {
            Ok(e) => e,
            Err(_) => panic!("no event within {wait:?}"),
        }
    }

    /// The next event (10 s at most), or `None` once the stream closed.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        self.next_within(Duration::from_secs(10)).await
    }

    /// Whether any event comes within `wait` (false: none came, or the
    /// stream closed).
    pub async fn quiet_for(&mut self, wait: Duration) -> Option<SseEvent> {
        tokio::time::timeout(wait, self.next()).await.ok().flatten()
    }

    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(e) = self.parse(&block) {
                    return Some(e);
                }
                continue;
            }
            if self.closed {
                return None;
            }
            match self.res.chunk().await {
                Ok(Some(bytes)) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(None) | Err(_) => self.closed = true,
            }
        }
    }

    fn parse(&mut self, block: &str) -> Option<SseEvent> {
        let (mut id, mut event, mut data) = (None, "message".to_owned(), Vec::new());
        for line in block.lines().filter(|l| !l.is_empty()) {
            if line.starts_with(':') {
                self.comments += 1;
                continue;
            }
            let (field, value) = line.split_once(": ").unwrap_or((line, ""));
            match field {
                "id" => id = Some(value.parse().expect("a numeric id")),
                "event" => event = value.to_owned(),
                "data" => data.push(value.to_owned()),
                "retry" => self.retry = value.parse().ok(),
                other => panic!("an unknown field {other:?} in {block:?}"),
            }
        }
        if data.is_empty() {
            return None;
        }
        let data = serde_json::from_str(&data.join("\n")).expect("data is JSON");
        Some(SseEvent { id, event, data })
    }
}

impl TestApp {
    /// `GET /api/v1/stream?<query>` with `who`'s token (if any) and a
    /// `Last-Event-ID` (if any), on a client without a total timeout.
    pub async fn open_stream(
        &self,
        who: Option<&User>,
        query: &str,
        last_event_id: Option<i64>,
    ) -> Response {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut req = client.get(self.url(&format!("/api/v1/stream?{query}")));
        if let Some(who) = who {
            req = req.bearer_auth(&who.token);
        }
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        req.send().await.expect("request")
    }

    /// The stream of `who`'s own events (and `topics`), open after every
    /// event committed so far.
    pub async fn stream_of(&self, who: &User, topics: &str) -> Sse {
        self.events_settled().await;
        Sse::new(
            self.open_stream(Some(who), &format!("topics={topics}"), None)
                .await,
        )
    }

    /// Waits (at most 30 s) until every committed event has its position:
    /// a stream opened after this starts after all of them.
    pub async fn events_settled(&self) {
        #[derive(sea_orm::FromQueryResult)]
        struct Waiting {
            n: i64,
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let w: Waiting = self
                .query_sql(
                    "SELECT COUNT(*) AS n FROM events WHERE position IS NULL",
                    [],
                )
                .await
                .unwrap();
            if w.n == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "events wait for a place"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `POST /api/v1/stream/tickets`.
    pub async fn stream_ticket(&self, who: &User) -> Response {
        self.post("/api/v1/stream/tickets", Some(&who.token), &Value::Null)
            .await
    }
}

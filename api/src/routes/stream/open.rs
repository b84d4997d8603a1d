//! GET /stream: the live stream of one's own events and staff topics.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, Responder, get};
use actix_web_lab::sse;
use kartel_domain::events::Topic;
use kartel_domain::{Caller, FieldError, UserCaller, policy, stream_tickets};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::extractors::{MaybeUser, Query};
use crate::routes::responses::*;
use crate::routes::stream::follow::Follow;
use crate::state::State;

/// What a client waits before reconnecting (the `retry:` field).
const RETRY: Duration = Duration::from_secs(5);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Staff topics to follow besides one's own events, comma-separated:
    /// `reviews` (managers, admins), `handoffs`, `challenges`, `tiers`,
    /// `credits` (staff), `accounts` (admins).
    #[param(example = "reviews,handoffs")]
    pub topics: Option<String>,
    /// A ticket from `POST /api/v1/stream/tickets`, instead of
    /// `Authorization` (for `EventSource`).
    pub ticket: Option<String>,
    /// Resume after this event id, as the `Last-Event-ID` header does (for a
    /// client that kept the id across page loads); the header wins.
    pub last_event_id: Option<String>,
}

/// Follow your events live (Server-Sent Events).
///
/// A `text/event-stream` of the signed-in person's own events — their
/// submission reviewed, re-scored or appealed, their tier or certificate
/// changed, credits moved, their nomination decided, their placement — and,
/// for staff, the topics asked for with `?topics=` (403 naming the role a
/// topic needs). Sign in with `Authorization: Bearer`, or with a single-use
/// `?ticket=` from `POST /api/v1/stream/tickets` (browsers' `EventSource`
/// cannot send headers).
///
/// Each event is `id: <position>` (its place in the one order of events),
/// `event: <type>` (`credits.moved`, `submission.reviewed`…) and `data:`
/// its JSON `{type, timestamp, data}`. Reconnecting with `Last-Event-ID`
/// (browsers do it themselves; `retry: 5000`) resumes after that event
/// without loss on any instance, as long as it is within
/// `KARTEL_STREAM_RESUME_EVENTS` of the newest event; otherwise the stream
/// begins with `event: reset` (`data: {reason, position}`): reload what you
/// show, then follow on. A comment (`: keep-alive`) comes every
/// `KARTEL_STREAM_KEEP_ALIVE_SECONDS` (15). When the session ends or the
/// account is suspended or erased, the stream sends `event: end` and closes
/// (a reconnect is then refused).
#[utoipa::path(
    tag = "stream",
    operation_id = "open_stream",
    security(("bearer" = []), ()),
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The `id` of the last event received: the stream resumes after it"),
    ),
    responses(
        (status = 200, description = "The event stream; it stays open", content_type = "text/event-stream", body = String),
        InvalidTicket,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/stream")]
pub async fn open_stream(
    st: State,
    req: HttpRequest,
    user: MaybeUser,
    q: Query<StreamQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner()?;
    let topics = parse_topics(q.topics.as_deref())?;
    let person = match (user.0, q.ticket.as_deref()) {
        (Some(person), _) => person,
        (None, Some(ticket)) => redeem(&st, ticket).await?,
        (None, None) => {
            return Err(ApiError::unauthorized(
                "sign in: send Authorization: Bearer <access token>, or ?ticket= from POST /api/v1/stream/tickets",
            ));
        }
    };
    let caller = Caller::User(person);
    for topic in &topics {
        policy::may_follow(&caller, *topic)?;
    }
    let Caller::User(person) = caller else {
        return Err(ApiError::internal("a person became a service"));
    };
    let last_event_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(q.last_event_id);
    let follow = Follow::open(st.clone(), person, topics, last_event_id.as_deref()).await?;
    let mut res = sse::Sse::from_stream(follow.into_stream())
        .with_retry_duration(RETRY)
        .respond_to(&req);
    // Proxies that buffer answers (nginx) pass this one through at once.
    res.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(res)
}

/// `a,b,c` into topics, each once; 422 naming `topics` for an unknown one.
fn parse_topics(raw: Option<&str>) -> ApiResult<Vec<Topic>> {
    let mut topics = Vec::new();
    for name in raw.unwrap_or_default().split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let Some(topic) = Topic::parse(name) else {
            let known: Vec<&str> = Topic::ALL.iter().map(|t| t.as_str()).collect();
            return Err(ApiError::validation(vec![FieldError::new(
                "topics",
                format!("unknown topic {name:?}; known: {}", known.join(", ")),
            )]));
        };
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    Ok(topics)
}

/// The session a ticket stands for, checked like a token's.
async fn redeem(st: &State, ticket: &str) -> ApiResult<UserCaller> {
    let redeemed = stream_tickets::redeem(&st.db, ticket)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_ticket",
                "the ticket is unknown, used already or expired: ask for a new one",
            )
        })?;
    st.sessions
        .authenticate(&st.db, redeemed.user_id, redeemed.session_id)
        .await
}

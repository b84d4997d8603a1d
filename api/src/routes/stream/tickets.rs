//! POST /stream/tickets: a single-use ticket to open the stream with.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::stream_tickets::{self, StreamTicket};

/// Get a ticket to open the live stream.
///
/// A browser's `EventSource` cannot send `Authorization`: ask for a ticket
/// with your token, then open `GET /api/v1/stream?ticket=…`. A ticket works
/// once, within 60 seconds, on any instance, and the stream it opens is
/// your session's (it ends when the session or the account does). It is a
/// secret like a token: it is not remembered under an `Idempotency-Key`.
#[utoipa::path(
    tag = "stream",
    operation_id = "create_stream_ticket",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A ticket, valid once within 60 s", body = StreamTicket),
        Unauthorized,
    )
)]
#[post("/stream/tickets")]
pub async fn create_stream_ticket(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(stream_tickets::issue(&st.db, &user.0).await?))
}

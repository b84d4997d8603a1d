//! GET /events.

use crate::error::{ApiError, ApiResult};
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::events::{self, Feed};
use kartel_domain::policy::ReadEvents;
use kartel_domain::types::Limit;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `next_cursor` of the previous page; omit it to start from the
    /// first event.
    pub after: Option<String>,
    /// Only these kinds, comma-separated (`GET /event-types`).
    #[param(example = "tier.changed,handoff.accepted")]
    pub types: Option<String>,
    /// Events per page: 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
}

/// Read the events in order (admin, or an API key with `events:read`).
///
/// The events as webhooks send them (`{type, timestamp, data}` with thin
/// data) with their `id` and `position`, in their one order: an event
/// committed late still comes after those already read, never before. Keep
/// `next_cursor` (always given, also on an empty page) and pass it as
/// `after`; `has_more` says to ask again at once.
#[utoipa::path(
    tag = "events",
    operation_id = "list_events",
    security(("bearer" = []), ("api_key" = [])),
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of events", body = Feed),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/events")]
pub async fn list_events(
    st: State,
    allowed: Authorized<ReadEvents>,
    q: Query<FeedQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner()?;
    let limit = Limit::parse(q.limit).map_err(|e| ApiError::validation(vec![e]))?;
    let kinds = events::parse_kinds("types", q.types.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::validation(vec![e]))?;
    let feed = events::feed(&st.db, &allowed, q.after.as_deref(), &kinds, limit).await?;
    Ok(HttpResponse::Ok().json(feed))
}

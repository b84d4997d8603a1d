//! GET /event-types.

use crate::error::ApiResult;
use actix_web::{HttpResponse, get};
use kartel_domain::events::{self, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// Every event kind (a fixed set: one page).
#[derive(Serialize, ToSchema)]
pub struct EventTypeList {
    pub items: Vec<EventType>,
}

/// The event kinds and their data's JSON Schemas (anyone).
///
/// What webhooks deliver and `GET /events` serves: each kind's dotted
/// name, what its subject is, and the JSON Schema (2020-12) of its `data`.
/// Data is thin — ids, statuses, amounts, tiers, tracks, scores and
/// decisions, never personal data or free text: ask the API for more. The
/// OpenAPI document's `webhooks` describe the same payloads.
#[utoipa::path(
    tag = "events",
    operation_id = "list_event_types",
    security(()),
    responses((status = 200, description = "Every kind", body = EventTypeList))
)]
#[get("/event-types")]
pub async fn list_event_types() -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(EventTypeList {
        items: events::catalogue(),
    }))
}

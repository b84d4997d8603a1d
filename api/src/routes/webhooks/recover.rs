//! POST /webhooks/endpoints/{id}/recover.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, Queued};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// Events since this time (at most 14 days ago).
    #[schema(example = "2026-01-05T08:00:00Z")]
    pub since: DateTime<Utc>,
}

/// Re-send what a webhook endpoint missed since a time (admin).
///
/// Every event of its kinds since `since` that it has not received — its
/// delivery failed, or it was disabled or did not exist then — is queued
/// to it again with a fresh retry schedule (delivered ones are not). The
/// endpoint must be enabled (409 `endpoint_disabled`). Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "recover_webhook_endpoint",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    request_body = RecoverRequest,
    responses(
        (status = 202, description = "How many deliveries were queued", body = Queued),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[post("/webhooks/endpoints/{id}/recover")]
pub async fn recover_webhook_endpoint(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
    body: JsonBody<RecoverRequest>,
) -> ApiResult<HttpResponse> {
    let since = body.into_inner()?.since;
    let queued = webhooks::recover(&st.db, &allowed, *id, since).await?;
    st.webhooks.poke();
    Ok(HttpResponse::Accepted().json(queued))
}

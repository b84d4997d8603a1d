//! POST /pods/{id}/engagements.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::pods::{self, Engagement, EngagementSpec};
use kartel_domain::policy::ManagePods;
use uuid::Uuid;

/// Record a client engagement (generative lead, admin).
///
/// Open until ended. Beyond the pod's client capacity it is 409
/// `pod_at_capacity` (concurrent requests never exceed it); a paused or
/// closed pod takes none (409 `pod_closed`).
#[utoipa::path(
    tag = "pods",
    operation_id = "add_engagement",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The pod's id"), OptionalIdempotencyHeader),
    request_body = EngagementSpec,
    responses(
        (status = 201, description = "The engagement", body = Engagement),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
    )
)]
#[post("/pods/{id}/engagements")]
pub async fn add_engagement(
    st: State,
    allowed: Authorized<ManagePods>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<EngagementSpec>,
) -> ApiResult<HttpResponse> {
    let e = pods::add_engagement(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        *id,
        body.into_inner()?,
    )
    .await?;
    Ok(HttpResponse::Created().json(e))
}

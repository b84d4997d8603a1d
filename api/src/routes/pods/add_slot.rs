//! POST /pods/{id}/slots.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::pods::{self, Slot, SlotSpec};
use kartel_domain::policy::ManagePods;
use uuid::Uuid;

/// Add a role slot to a pod (generative lead, admin).
///
/// One slot is one role of a track, open until a Tier 5 talent of the track
/// fills it. Not on a closed pod (409).
#[utoipa::path(
    tag = "pods",
    operation_id = "add_slot",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The pod's id"), OptionalIdempotencyHeader),
    request_body = SlotSpec,
    responses(
        (status = 201, description = "The new slot", body = Slot),
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
#[post("/pods/{id}/slots")]
pub async fn add_slot(
    st: State,
    allowed: Authorized<ManagePods>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<SlotSpec>,
) -> ApiResult<HttpResponse> {
    let slot = pods::add_slot(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        *id,
        body.into_inner()?,
    )
    .await?;
    Ok(HttpResponse::Created().json(slot))
}

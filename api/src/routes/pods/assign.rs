//! PUT /pods/{id}/slots/{slot_id}/assignment.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, put, web};
use kartel_domain::pods::{self, Slot};
use kartel_domain::policy::ManagePods;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// A Tier 5 talent of the slot's track.
    pub talent_id: Uuid,
}

/// Assign a Tier 5 talent to an open slot (generative lead, admin).
///
/// From the bench, or moved from another slot (which opens). Only a Tier 5
/// talent of the slot's track (422; Tier 4 talent comes through a
/// nomination), never a suspended or erased one (422
/// `account_not_active`); 409 `slot_filled` when taken. In the talent's
/// tier history.
#[utoipa::path(
    tag = "pods",
    operation_id = "assign_slot",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The pod's id"), ("slot_id" = Uuid, Path, description = "The slot's id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The slot, filled", body = Slot),
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
#[put("/pods/{id}/slots/{slot_id}/assignment")]
pub async fn assign_slot(
    st: State,
    allowed: Authorized<ManagePods>,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<AssignRequest>,
) -> ApiResult<HttpResponse> {
    let (pod, slot) = path.into_inner();
    let body = body.into_inner()?;
    Ok(HttpResponse::Ok().json(pods::assign(&st.db, &allowed, pod, slot, body.talent_id).await?))
}

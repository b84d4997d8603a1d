//! DELETE /pods/{id}/slots/{slot_id}/assignment.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, delete, web};
use kartel_domain::pods::{self, Slot};
use kartel_domain::policy::ManagePods;
use uuid::Uuid;

/// Unassign a slot's talent (generative lead, admin).
///
/// The slot opens; the talent stays Tier 5 and goes to the bench (`GET
/// /bench`). In the talent's tier history. 409 `slot_empty` when nobody is
/// assigned.
#[utoipa::path(
    tag = "pods",
    operation_id = "unassign_slot",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The pod's id"), ("slot_id" = Uuid, Path, description = "The slot's id")),
    responses(
        (status = 200, description = "The slot, open again", body = Slot),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
    )
)]
#[delete("/pods/{id}/slots/{slot_id}/assignment")]
pub async fn unassign_slot(
    st: State,
    allowed: Authorized<ManagePods>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (pod, slot) = path.into_inner();
    Ok(HttpResponse::Ok().json(pods::unassign(&st.db, &allowed, pod, slot).await?))
}

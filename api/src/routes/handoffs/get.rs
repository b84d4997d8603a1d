//! GET /handoffs/{id}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::pods::{self, NominationDetail};
use kartel_domain::policy::ViewTalentEngine;
use uuid::Uuid;

/// A nomination with its evidence, in one call (staff).
///
/// The certificate, the accepted submissions with their review scores,
/// bulk-run success, and the tier history in the track.
#[utoipa::path(
    tag = "handoffs",
    operation_id = "get_handoff",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The nomination's id")),
    responses(
        (status = 200, description = "The nomination and its evidence", body = NominationDetail),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[get("/handoffs/{id}")]
pub async fn get_handoff(
    st: State,
    allowed: Authorized<ViewTalentEngine>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(pods::get_nomination(&st.db, &allowed, *id).await?))
}

//! POST /review-queue/claims/{id}/extend.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Claim};
use kartel_domain::policy::ReviewSubmissions;
use uuid::Uuid;

/// Extend your claim (its holder).
///
/// Its lease runs a full `KARTEL_REVIEW_LEASE_MINUTES` from now. Only the
/// reviewer holding the claim extends it (403 otherwise). Refusals: 404 no
/// such claim (reviewed, released, or the seat claimed anew); 409
/// `claim_expired` when its lease already ran out (the seat went back to
/// the queue: claim again).
#[utoipa::path(
    tag = "review-queue",
    operation_id = "extend_claim",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The claim's id")),
    responses(
        (status = 200, description = "The claim with its new lease", body = Claim),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
    )
)]
#[post("/review-queue/claims/{id}/extend")]
pub async fn extend_claim(
    st: State,
    allowed: Authorized<ReviewSubmissions>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let lease = st.settings.review_lease();
    let claim = challenges::extend(&st.db, &allowed, *id, lease).await?;
    Ok(HttpResponse::Ok().json(claim))
}

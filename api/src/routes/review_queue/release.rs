//! POST /review-queue/claims/{id}/release.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges;
use kartel_domain::policy::ReviewSubmissions;
use uuid::Uuid;

/// Release a claim (its holder, or an admin).
///
/// The seat goes back to the queue at once. Only the reviewer holding the
/// claim releases it, or an admin (403 otherwise). Refusals: 404 no such
/// claim (reviewed, released, or the seat claimed anew); 409
/// `claim_expired` when its lease already ran out.
#[utoipa::path(
    tag = "review-queue",
    operation_id = "release_claim",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The claim's id")),
    responses(
        (status = 204, description = "Released: the seat is back in the queue"),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
    )
)]
#[post("/review-queue/claims/{id}/release")]
pub async fn release_claim(
    st: State,
    allowed: Authorized<ReviewSubmissions>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    challenges::release(&st.db, &allowed, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

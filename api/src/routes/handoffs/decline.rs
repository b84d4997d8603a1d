//! POST /handoffs/{id}/decline.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::pods::{self, DeclineSpec, Nomination};
use kartel_domain::policy::DecideHandoffs;
use uuid::Uuid;

/// Decline a nomination with a reason (generative lead, admin).
///
/// The talent stays Tier 4 and can be nominated again. 409
/// `nomination_not_pending` once decided or expired.
#[utoipa::path(
    tag = "handoffs",
    operation_id = "decline_handoff",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The nomination's id"), OptionalIdempotencyHeader),
    request_body = DeclineSpec,
    responses(
        (status = 200, description = "The nomination, declined", body = Nomination),
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
#[post("/handoffs/{id}/decline")]
pub async fn decline_handoff(
    st: State,
    allowed: Authorized<DecideHandoffs>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<DeclineSpec>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        pods::decline(
            &st.db,
            &allowed,
            key.for_caller(allowed.caller())?.as_ref(),
            *id,
            body.into_inner()?,
        )
        .await?,
    ))
}

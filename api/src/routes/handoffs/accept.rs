//! POST /handoffs/{id}/accept.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::pods::{self, AcceptSpec, Nomination};
use kartel_domain::policy::DecideHandoffs;
use uuid::Uuid;

/// Accept a nomination into an open slot (generative lead, admin).
///
/// The talent becomes Tier 5 in the track, the slot is filled, the
/// nomination accepted, the tier history, audit log and an event written —
/// one transaction: of racing accepts for one slot or one talent exactly
/// one lands, the others get 409 (`slot_filled`, `talent_already_placed`,
/// `nomination_not_pending`). A slot of another track is 422; a talent no
/// longer Tier 4 is 422 `not_tier_four`, one without a valid certificate
/// 422 `certificate_required`, one whose account is suspended or erased
/// 422 `account_not_active` (a suspension also withdrew the nomination).
/// Community managers cannot accept (403).
#[utoipa::path(
    tag = "handoffs",
    operation_id = "accept_handoff",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The nomination's id"), OptionalIdempotencyHeader),
    request_body = AcceptSpec,
    responses(
        (status = 200, description = "The nomination, accepted", body = Nomination),
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
#[post("/handoffs/{id}/accept")]
pub async fn accept_handoff(
    st: State,
    allowed: Authorized<DecideHandoffs>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<AcceptSpec>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        pods::accept(
            &st.db,
            &allowed,
            key.for_caller(allowed.caller())?.as_ref(),
            *id,
            body.into_inner()?,
        )
        .await?,
    ))
}

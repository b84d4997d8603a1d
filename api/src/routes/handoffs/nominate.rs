//! POST /handoffs.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::pods::{self, Nomination, NominationSpec};
use kartel_domain::policy::NominateTalents;

/// Nominate a Tier 4 talent for a pod role (community manager, admin).
///
/// The talent must be Tier 4 (certified) in the track: another tier is 422
/// `not_tier_four`, and Tier 4 without a valid certificate in the track
/// 422 `certificate_required`; a suspended or erased account is 422
/// `account_not_active`. Optionally for an open slot of the track (422 for
/// another track's slot, 409 `slot_filled`). One pending nomination per
/// talent and track (409 `nomination_pending`); never yourself (403); not
/// a talent whose address is unverified (403 `email_unverified`). It
/// expires after the configured time (default 30 days) and then reads
/// `expired`.
#[utoipa::path(
    tag = "handoffs",
    operation_id = "nominate",
    security(("bearer" = [])),
    params(OptionalIdempotencyHeader),
    request_body = NominationSpec,
    responses(
        (status = 201, description = "The nomination, pending", body = Nomination),
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
#[post("/handoffs")]
pub async fn nominate(
    st: State,
    allowed: Authorized<NominateTalents>,
    key: IdempotencyKey,
    body: JsonBody<NominationSpec>,
) -> ApiResult<HttpResponse> {
    let ttl = chrono::Duration::days(st.settings.nomination_ttl_days);
    let n = pods::nominate(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        body.into_inner()?,
        ttl,
    )
    .await?;
    Ok(HttpResponse::Created().json(n))
}

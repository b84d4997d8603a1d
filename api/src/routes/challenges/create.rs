//! POST /challenges: a new challenge, as a draft.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::challenges::{self, Challenge, ChallengeSpec};
use kartel_domain::policy::ManageChallenges;

/// Create a challenge (community manager, admin).
///
/// It starts as a draft, visible to staff only, with rubric version 1; open
/// it with `transition_challenge`. Refusals: 422 `validation_failed` naming
/// each bad field (dates out of order, tiers outside 0–5 or reversed, a
/// rubric criterion without a key, name or weight…). Audited.
#[utoipa::path(
    tag = "challenges",
    operation_id = "create_challenge",
    security(("bearer" = [])),
    params(OptionalIdempotencyHeader),
    request_body = ChallengeSpec,
    responses(
        (status = 201, description = "The new draft", body = Challenge),
        BadRequest,
        Unauthorized,
        Forbidden,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
    )
)]
#[post("/challenges")]
pub async fn create_challenge(
    st: State,
    allowed: Authorized<ManageChallenges>,
    key: IdempotencyKey,
    body: JsonBody<ChallengeSpec>,
) -> ApiResult<HttpResponse> {
    let c = challenges::create(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        body.into_inner()?,
    )
    .await?;
    Ok(HttpResponse::Created().json(c))
}

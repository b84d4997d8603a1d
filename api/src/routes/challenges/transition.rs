//! POST /challenges/{id}/transitions.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Challenge, Transition};
use kartel_domain::policy::ManageChallenges;
use uuid::Uuid;

/// Move a challenge through its lifecycle (community manager, admin).
///
/// draft → open → judging → closed, or draft/open → cancelled with a
/// `reason`. The clock also moves open challenges to judging when their
/// window ends. Closing pays the prizes to the top places, once. Refusals:
/// 409 `illegal_transition` for any other move (including one the clock or
/// another manager made first); 422 a cancellation without a reason.
/// Audited.
#[utoipa::path(
    tag = "challenges",
    operation_id = "transition_challenge",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge's id"), OptionalIdempotencyHeader),
    request_body = Transition,
    responses(
        (status = 200, description = "The challenge after the move", body = Challenge),
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
#[post("/challenges/{id}/transitions")]
pub async fn transition_challenge(
    st: State,
    allowed: Authorized<ManageChallenges>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<Transition>,
) -> ApiResult<HttpResponse> {
    let c = challenges::transition(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        *id,
        body.into_inner()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(c))
}

//! POST /challenges/{id}/transitions.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{Authorized, JsonBody};
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Challenge, Transition};
use kartel_domain::policy::ManageChallenges;
use uuid::Uuid;

/// Move a challenge (community manager, admin): draft → open → judging →
/// closed, or draft/open → cancelled with a reason. Closing pays the prizes
/// to the top places, once. Any other move is 409 `illegal_transition`.
#[utoipa::path(
    tag = "challenges",
    operation_id = "transition_challenge",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge")),
    request_body = Transition,
    responses(
        (status = 200, description = "The challenge after the move", body = Challenge),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/challenges/{id}/transitions")]
pub async fn transition_challenge(
    st: State,
    allowed: Authorized<ManageChallenges>,
    id: web::Path<Uuid>,
    body: JsonBody<Transition>,
) -> ApiResult<HttpResponse> {
    let c = challenges::transition(&st.db, &allowed, *id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(c))
}

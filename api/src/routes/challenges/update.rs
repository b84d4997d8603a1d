//! PATCH /challenges/{id}.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{Authorized, JsonBody};
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::challenges::{self, Challenge, ChallengePatch};
use kartel_domain::policy::ManageChallenges;
use uuid::Uuid;

/// Edit a challenge (community manager, admin): anything in a draft; once
/// open only the wording, reference assets and rubric; while judging only
/// the rubric (each rubric edit is a new version; past reviews keep theirs).
#[utoipa::path(
    tag = "challenges",
    operation_id = "update_challenge",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge")),
    request_body = ChallengePatch,
    responses(
        (status = 200, description = "The challenge as changed", body = Challenge),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[patch("/challenges/{id}")]
pub async fn update_challenge(
    st: State,
    allowed: Authorized<ManageChallenges>,
    id: web::Path<Uuid>,
    body: JsonBody<ChallengePatch>,
) -> ApiResult<HttpResponse> {
    let c = challenges::update(&st.db, &allowed, *id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(c))
}

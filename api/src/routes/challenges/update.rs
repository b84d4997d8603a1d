//! PATCH /challenges/{id}.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::challenges::{self, Challenge, ChallengePatch};
use kartel_domain::policy::ManageChallenges;
use uuid::Uuid;

/// Edit a challenge (community manager, admin).
///
/// Send only the fields to change. Anything may change in a draft; while it
/// is open or judging only the title, brief, reference assets and rubric;
/// nothing once closed or cancelled (409 `field_locked` naming the fields).
/// Each rubric edit is a new version; past reviews keep theirs. Audited.
#[utoipa::path(
    tag = "challenges",
    operation_id = "update_challenge",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge's id")),
    request_body = ChallengePatch,
    responses(
        (status = 200, description = "The challenge as changed", body = Challenge),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[patch("/challenges/{id}")]
pub async fn update_challenge(
    st: State,
    allowed: Authorized<ManageChallenges>,
    id: web::Path<Uuid>,
    body: JsonBody<ChallengePatch>,
) -> ApiResult<HttpResponse> {
    let c = challenges::update(&st.db, &allowed, *id, body.into_inner()?).await?;
    Ok(HttpResponse::Ok().json(c))
}

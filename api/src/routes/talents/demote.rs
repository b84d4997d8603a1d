//! POST /talents/{id}/tracks/{track}/tier.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::policy::ChangeTiers;
use kartel_domain::tiers::{self, TierChangeSpec, TrackStanding};
use kartel_domain::types::Track;
use uuid::Uuid;

/// Demote a talent, or revoke a certification (community manager, admin).
///
/// `tier` must be below the current one; `reason` is required and shown to
/// the talent in its tier history. Below Tier 4 the certificate is revoked
/// (and the talent leaves the dashboard's attention list); to Tier 4 is
/// 422 while the talent is on that list (the certificate stands on
/// overturned work).
/// The track is locked against automatic changes unless `lock` is false.
/// Moving a talent out of Tier 5 needs an admin; nobody changes their own
/// tier (403).
#[utoipa::path(
    tag = "tiers",
    operation_id = "demote_talent",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The talent's id"),
        ("track" = Track, Path, description = "The track"),
        OptionalIdempotencyHeader,
    ),
    request_body = TierChangeSpec,
    responses(
        (status = 200, description = "The talent's new standing", body = TrackStanding),
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
#[post("/talents/{id}/tracks/{track}/tier")]
pub async fn demote_talent(
    st: State,
    allowed: Authorized<ChangeTiers>,
    key: IdempotencyKey,
    path: web::Path<(Uuid, Track)>,
    body: JsonBody<TierChangeSpec>,
) -> ApiResult<HttpResponse> {
    let (talent, track) = path.into_inner();
    let s = tiers::demote(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        talent,
        track,
        body.into_inner()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(s))
}

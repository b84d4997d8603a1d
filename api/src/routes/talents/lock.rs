//! PUT /talents/{id}/tracks/{track}/lock.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, put, web};
use kartel_domain::policy::ChangeTiers;
use kartel_domain::tiers::{self, LockSpec, TrackStanding};
use kartel_domain::types::Track;
use uuid::Uuid;

/// Lock or unlock a talent's tier in a track (community manager, admin).
///
/// While locked, no review, profile change, requirement change or grace
/// period moves the tier (certification and demotion still can).
/// Unlocking evaluates the track at once. Audited with the reason; never
/// your own (403).
#[utoipa::path(
    tag = "tiers",
    operation_id = "lock_talent_tier",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The talent's id"),
        ("track" = Track, Path, description = "The track"),
    ),
    request_body = LockSpec,
    responses(
        (status = 200, description = "The talent's standing", body = TrackStanding),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[put("/talents/{id}/tracks/{track}/lock")]
pub async fn lock_talent_tier(
    st: State,
    allowed: Authorized<ChangeTiers>,
    path: web::Path<(Uuid, Track)>,
    body: JsonBody<LockSpec>,
) -> ApiResult<HttpResponse> {
    let (talent, track) = path.into_inner();
    let s = tiers::set_lock(&st.db, &allowed, talent, track, body.into_inner()?).await?;
    Ok(HttpResponse::Ok().json(s))
}

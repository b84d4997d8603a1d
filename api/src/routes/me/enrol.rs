//! POST /me/tracks: enrol in a track.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::policy::EnrolInTrack;
use kartel_domain::tiers::{self, TrackStanding};
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub track: Track,
}

/// Enrol in a role track.
///
/// You start at Tier 0 and are evaluated at once: Tier 1 with a complete
/// profile (display name, bio, one portfolio link), and further when your
/// reviewed work already meets Tier 2 or 3 — one step at a time, each in
/// your tier history. 409 `already_enrolled` the second time.
#[utoipa::path(
    tag = "tiers",
    operation_id = "enrol_in_track",
    security(("bearer" = [])),
    params(OptionalIdempotencyHeader),
    request_body = EnrolRequest,
    responses(
        (status = 201, description = "Your standing in the track", body = TrackStanding),
        BadRequest,
        Unauthorized,
        Forbidden,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
    )
)]
#[post("/me/tracks")]
pub async fn enrol_in_track(
    st: State,
    allowed: Authorized<EnrolInTrack>,
    key: IdempotencyKey,
    body: JsonBody<EnrolRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let s = tiers::enrol(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        body.track,
    )
    .await?;
    Ok(HttpResponse::Created().json(s))
}

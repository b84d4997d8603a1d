//! PATCH /tracks/{track}.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::policy::ManageTracks;
use kartel_domain::tiers::{self, TrackChange, TrackInfo};
use kartel_domain::types::Track;

/// Edit a track's name, demotion grace period or playbook (admin).
///
/// The playbook (title, URL, version, `draft` or `approved`) is replaced
/// whole; certification needs it `approved`, and every certificate cites
/// the version it certified against. Audited.
#[utoipa::path(
    tag = "tiers",
    operation_id = "update_track",
    security(("bearer" = [])),
    params(("track" = Track, Path, description = "The track")),
    request_body = TrackChange,
    responses(
        (status = 200, description = "The track as changed", body = TrackInfo),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[patch("/tracks/{track}")]
pub async fn update_track(
    st: State,
    allowed: Authorized<ManageTracks>,
    track: web::Path<Track>,
    body: JsonBody<TrackChange>,
) -> ApiResult<HttpResponse> {
    let t = tiers::update_track(&st.db, &allowed, *track, body.into_inner()?).await?;
    Ok(HttpResponse::Ok().json(t))
}

//! PUT /tracks/{track}/requirements.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, put, web};
use kartel_domain::policy::ManageTracks;
use kartel_domain::tiers::{self, RequirementSpec, RequirementsChanged};
use kartel_domain::types::Track;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The whole new list of a track's requirements.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRequirementsRequest {
    /// Tiers 1–3; at most one item per tier and key, at most 30 items.
    pub requirements: Vec<RequirementSpec>,
}

/// Replace a track's tier requirements (admin).
///
/// Keys: `profile_complete` (target 1), `passed_challenges` (any track),
/// `passed_track_challenges`, `reviewed_batches` (whole numbers up to
/// 10,000) and `bulk_run_success_rate` (0–1). An unknown key, a tier
/// outside 1–3 or an impossible target is 422, naming the item. The
/// change is audited and re-evaluates every talent enrolled in the track in
/// the background, in batches: follow `reevaluation` (its `evaluated` and
/// `moved` counts) at `GET /tracks/{track}/reevaluations/{id}`. Locked
/// talents and Tiers 4–5 do not move; a tier whose requirements stop
/// holding drops after the track's grace period.
#[utoipa::path(
    tag = "tiers",
    operation_id = "set_track_requirements",
    security(("bearer" = [])),
    params(("track" = Track, Path, description = "The track")),
    request_body = SetRequirementsRequest,
    responses(
        (status = 200, description = "The track with its new requirements, and the re-evaluation started", body = RequirementsChanged),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[put("/tracks/{track}/requirements")]
pub async fn set_track_requirements(
    st: State,
    allowed: Authorized<ManageTracks>,
    track: web::Path<Track>,
    body: JsonBody<SetRequirementsRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let changed = tiers::set_requirements(&st.db, &allowed, *track, &body.requirements).await?;
    crate::jobs::reevaluate_now(st.into_inner());
    Ok(HttpResponse::Ok().json(changed))
}

//! PUT /dashboard/targets.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, put};
use kartel_domain::pods::{self, TargetsSpec, YearlyTargets};
use kartel_domain::policy::SetTargets;

/// Set a year's targets (admin).
///
/// The Tier 5 target (default 20) and, optionally, quarterly targets
/// (Q1–Q4) that the pace follows instead of an even pro-rating. Audited.
#[utoipa::path(
    tag = "dashboard",
    operation_id = "set_targets",
    security(("bearer" = [])),
    request_body = TargetsSpec,
    responses(
        (status = 200, description = "The year's targets", body = YearlyTargets),
        BadRequest,
        Unauthorized,
        Forbidden,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[put("/dashboard/targets")]
pub async fn set_targets(
    st: State,
    allowed: Authorized<SetTargets>,
    body: JsonBody<TargetsSpec>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(pods::set_targets(&st.db, &allowed, body.into_inner()?).await?))
}

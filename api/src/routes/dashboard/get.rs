//! GET /dashboard/talent-engine.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::pods::Dashboard;
use kartel_domain::policy::ViewTalentEngine;

/// The talent-engine dashboard (staff).
///
/// Computed at most every `KARTEL_DASHBOARD_CACHE_SECONDS` (default 10) per
/// instance; `generated_at` says when.
///
/// Talents per tier and track; the funnel (registered → Tier 1 … 5) and its
/// conversion this year; nominations waiting and the oldest one's age; open
/// roles by pod and track; Tier 5 deployed (placed in a slot) against the
/// yearly target and its pace (on pace at ≥ 100 % of the target pro-rated
/// to today, or to the quarterly targets when set; slightly off within 20
/// %; off-pace beyond); each pod's engagements against capacity,
/// completeness and peak concurrent engagements; bulk-run success per
/// track; the attention list (a Tier 5 whose certificate's evidence was
/// overturned). Suspended and erased people count neither as deployed nor
/// as placed, and a role held by a suspended talent does not complete its
/// pod.
#[utoipa::path(
    tag = "dashboard",
    operation_id = "get_talent_engine_dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures, as of `generated_at`", body = Dashboard),
        Unauthorized,
        Forbidden,
    )
)]
#[get("/dashboard/talent-engine")]
pub async fn get_talent_engine_dashboard(
    st: State,
    allowed: Authorized<ViewTalentEngine>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(&*st.dashboard.get(&st.db, &allowed).await?))
}

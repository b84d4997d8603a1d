//! GET /me/progress.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::tiers::{self, Progress};

/// Your tier per track and what you still need for the next one.
///
/// For each enrolled track: the tier, whether it is locked or its
/// requirements stopped holding (and when it would drop), and the next
/// tier's requirements with target, current value and `met`.
#[utoipa::path(
    tag = "tiers",
    operation_id = "get_my_progress",
    security(("bearer" = [])),
    responses((status = 200, description = "Your progress", body = Progress), Unauthorized)
)]
#[get("/me/progress")]
pub async fn get_my_progress(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tiers::progress(&st.db, user.0.id).await?))
}

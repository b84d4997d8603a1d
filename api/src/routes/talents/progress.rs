//! GET /talents/{id}/progress.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::policy::SearchTalents;
use kartel_domain::tiers::{self, Progress};
use uuid::Uuid;

/// A talent's tier per track and what the next tier needs (staff).
///
/// What the talent sees at `GET /me/progress`: for each enrolled track the
/// tier, whether it is locked or its requirements stopped holding (and when
/// it would drop), and the next tier's requirements with target, current
/// value and `met`. Staff only (community manager, generative lead or
/// admin); 404 when no account has this id.
#[utoipa::path(
    tag = "tiers",
    operation_id = "get_talent_progress",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The talent's id")),
    responses(
        (status = 200, description = "The talent's progress", body = Progress),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[get("/talents/{id}/progress")]
pub async fn get_talent_progress(
    st: State,
    _allowed: Authorized<SearchTalents>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tiers::progress(&st.db, *id).await?))
}

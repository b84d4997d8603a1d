//! GET /pods/{id}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::pods::{self, Pod};
use kartel_domain::policy::ViewTalentEngine;
use uuid::Uuid;

/// A pod (staff).
///
/// The pod as `GET /pods` lists it: its slots (with the talent placed in
/// each and whether that talent is suspended), its open engagements,
/// capacity, completeness (a filled slot of every core track, and the core
/// tracks still missing one) and the peak concurrency its engagement
/// records show. Staff only (community manager, generative lead or admin);
/// 404 when no pod has this id.
#[utoipa::path(
    tag = "pods",
    operation_id = "get_pod",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The pod's id")),
    responses(
        (status = 200, description = "The pod", body = Pod),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[get("/pods/{id}")]
pub async fn get_pod(
    st: State,
    _allowed: Authorized<ViewTalentEngine>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(pods::get_pod(&st.db, *id).await?))
}

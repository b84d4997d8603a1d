//! GET /pods/{id}.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::Authorized;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::pods::{self, Pod};
use kartel_domain::policy::ViewTalentEngine;
use uuid::Uuid;

/// A pod (staff).
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

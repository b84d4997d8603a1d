//! PATCH /pods/{id}.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::pods::{self, Pod, PodChange};
use kartel_domain::policy::ManagePods;
use uuid::Uuid;

/// Edit a pod (generative lead, admin).
///
/// Name, client capacity (never below the engagements open now: 422) or
/// status (forming, active, paused, closed; a closed pod stays closed: 409
/// `pod_closed`). Audited.
#[utoipa::path(
    tag = "pods",
    operation_id = "update_pod",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The pod's id")),
    request_body = PodChange,
    responses(
        (status = 200, description = "The pod as changed", body = Pod),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[patch("/pods/{id}")]
pub async fn update_pod(
    st: State,
    allowed: Authorized<ManagePods>,
    id: web::Path<Uuid>,
    body: JsonBody<PodChange>,
) -> ApiResult<HttpResponse> {
    let pod = pods::update_pod(&st.db, &allowed, *id, body.into_inner()?).await?;
    Ok(HttpResponse::Ok().json(pod))
}

//! POST /pods/{id}/engagements/{engagement_id}/end.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::pods::{self, Engagement};
use kartel_domain::policy::ManagePods;
use uuid::Uuid;

/// End a client engagement (generative lead, admin).
///
/// Frees one unit of the pod's capacity; ending it again is 409
/// `engagement_ended`. The record stays (peak concurrency is read from the
/// records).
#[utoipa::path(
    tag = "pods",
    operation_id = "end_engagement",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The pod's id"), ("engagement_id" = Uuid, Path, description = "The engagement's id"), OptionalIdempotencyHeader),
    responses(
        (status = 200, description = "The engagement, ended", body = Engagement),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/pods/{id}/engagements/{engagement_id}/end")]
pub async fn end_engagement(
    st: State,
    allowed: Authorized<ManagePods>,
    key: IdempotencyKey,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (pod, e) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        pods::end_engagement(
            &st.db,
            &allowed,
            key.for_caller(allowed.caller())?.as_ref(),
            pod,
            e,
        )
        .await?,
    ))
}

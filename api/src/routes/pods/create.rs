//! POST /pods.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::pods::{self, Pod, PodSpec};
use kartel_domain::policy::ManagePods;

/// Create a pod (generative lead, admin).
///
/// Name and client capacity (0–1,000 concurrent engagements); status
/// `forming` unless given. Audited.
#[utoipa::path(
    tag = "pods",
    operation_id = "create_pod",
    security(("bearer" = [])),
    params(OptionalIdempotencyHeader),
    request_body = PodSpec,
    responses(
        (status = 201, description = "The new pod", body = Pod),
        BadRequest,
        Unauthorized,
        Forbidden,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
    )
)]
#[post("/pods")]
pub async fn create_pod(
    st: State,
    allowed: Authorized<ManagePods>,
    key: IdempotencyKey,
    body: JsonBody<PodSpec>,
) -> ApiResult<HttpResponse> {
    let pod = pods::create_pod(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        body.into_inner()?,
    )
    .await?;
    Ok(HttpResponse::Created().json(pod))
}

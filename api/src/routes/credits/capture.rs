//! POST /credits/holds/{id}/capture.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::optional_json;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::schemas::Credits;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::ledger::{self, CaptureRequest, Hold};
use kartel_domain::policy::HoldCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Up to the held amount; default all of it. The rest is released.
    #[schema(value_type = Option<Credits>)]
    pub amount: Option<i64>,
}

/// Capture all or part of a hold; the rest is released.
#[utoipa::path(
    tag = "credits",
    operation_id = "capture_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), IdempotencyHeader),
    request_body(content = Option<CaptureBody>),
    responses(
        (status = 200, body = Hold),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/holds/{id}/capture")]
pub async fn capture_hold(
    st: State,
    allowed: Authorized<HoldCredits>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body: CaptureBody = optional_json(&body)?;
    let req = CaptureRequest::parse(*id, body.amount)?;
    let idem = key.for_caller(allowed.caller())?;
    let h = ledger::capture(&st.db, &allowed, idem.as_ref(), req).await?;
    Ok(HttpResponse::Ok().json(h))
}

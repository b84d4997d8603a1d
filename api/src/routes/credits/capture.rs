//! POST /credits/holds/{id}/capture.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{AnyCaller, IdempotencyKey};
use crate::routes::schemas::Credits;
use crate::routes::{IdempotencyHeader, optional_json};
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::ledger::{self, Hold};
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
    caller: AnyCaller,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body: CaptureBody = optional_json(&body)?;
    let idem = key.for_caller(&caller.0)?;
    let h = ledger::capture(&st.db, &caller.0, idem.as_ref(), *id, body.amount).await?;
    Ok(HttpResponse::Ok().json(h))
}

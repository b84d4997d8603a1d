//! POST /credits/holds/{id}/capture.

use crate::error::ApiResult;
use crate::extractors::optional_json;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::responses::*;
use crate::routes::schemas::Credits;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::ledger::{self, CaptureRequest, Hold};
use kartel_domain::policy::HoldCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Optional: no body, or `{}`, captures the whole hold.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Up to the held amount; default all of it. The rest is released.
    #[schema(value_type = Option<Credits>)]
    pub amount: Option<i64>,
}

/// Capture all or part of a hold.
///
/// Spends `amount` of the held credits (default: all of them) and releases
/// the rest; a hold is settled once. For a service key with `credits:hold`
/// or the hold's talent; to anyone else the hold is 404. The body may be
/// empty. Needs an `Idempotency-Key`. Refusals: 409 `hold_not_pending`,
/// `hold_expired` or `idempotency_in_progress`; 422 `capture_exceeds_hold`,
/// `validation_failed` or `idempotency_key_reused`.
#[utoipa::path(
    tag = "credits",
    operation_id = "capture_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path, description = "The hold's id"), IdempotencyHeader),
    request_body(content = Option<CaptureBody>),
    responses(
        (status = 200, description = "The captured hold", body = Hold),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
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

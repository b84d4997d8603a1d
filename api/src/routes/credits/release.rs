//! POST /credits/holds/{id}/release.

use crate::error::ApiResult;
use crate::extractors::optional_json;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::ledger::{self, Hold};
use kartel_domain::policy::HoldCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// No fields: send no body, or `{}`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {}

/// Release a hold in full.
///
/// The held credits return to `available`; a hold is settled once. For a
/// service key with `credits:hold` or the hold's talent; to anyone else the
/// hold is 404. The body may be empty or `{}`. Needs an `Idempotency-Key`.
/// Refusals: 409 `hold_not_pending`, `hold_expired` or
/// `idempotency_in_progress`; 422 `validation_failed` or
/// `idempotency_key_reused`.
#[utoipa::path(
    tag = "credits",
    operation_id = "release_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path, description = "The hold's id"), IdempotencyHeader),
    request_body(content = Option<ReleaseBody>),
    responses(
        (status = 200, description = "The released hold", body = Hold),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        Unprocessable,
    )
)]
#[post("/credits/holds/{id}/release")]
pub async fn release_hold(
    st: State,
    allowed: Authorized<HoldCredits>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let _: ReleaseBody = optional_json(&body)?;
    let idem = key.for_caller(allowed.caller())?;
    let h = ledger::release(&st.db, &allowed, idem.as_ref(), *id).await?;
    Ok(HttpResponse::Ok().json(h))
}

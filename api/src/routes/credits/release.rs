//! POST /credits/holds/{id}/release.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::optional_json;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::ledger::{self, Hold};
use kartel_domain::policy::HoldCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {}

/// Release a hold in full.
#[utoipa::path(
    tag = "credits",
    operation_id = "release_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), IdempotencyHeader),
    request_body(content = Option<ReleaseBody>),
    responses(
        (status = 200, body = Hold),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
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

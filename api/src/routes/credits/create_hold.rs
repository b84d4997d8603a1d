//! POST /credits/holds.

use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::responses::*;
use crate::routes::schemas::{Credits, Purpose};
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::DomainError;
use kartel_domain::ledger::{self, Hold, HoldRequest};
use kartel_domain::policy::HoldCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// Required for a service key; a person may only name themselves.
    pub talent_id: Option<Uuid>,
    /// How many credits to reserve.
    #[schema(value_type = Credits)]
    pub amount: i64,
    #[schema(value_type = Purpose)]
    pub purpose: String,
    /// Seconds until the hold expires and its credits return: 1 to 604800
    /// (7 days); default 900 (15 minutes).
    #[schema(minimum = 1, maximum = 604800, example = 900)]
    pub expires_in_seconds: Option<i64>,
}

/// Reserve credits for a generation run.
///
/// For a service key with `credits:hold` (naming `talent_id`) or a
/// signed-in talent (their own credits; naming someone else is 403). The
/// amount leaves `available` and waits in `held` until the hold is captured
/// (`capture_hold`), released (`release_hold`) or expires
/// (`expires_in_seconds`, default 15 minutes), which releases it. Needs an
/// `Idempotency-Key`. Refusals: 404 no such talent; 409
/// `insufficient_credits` or `idempotency_in_progress`; 422
/// `validation_failed` or `idempotency_key_reused`.
#[utoipa::path(
    tag = "credits",
    operation_id = "create_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(IdempotencyHeader),
    request_body = HoldBody,
    responses(
        (status = 201, description = "The pending hold", body = Hold),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
    )
)]
#[post("/credits/holds")]
pub async fn create_hold(
    st: State,
    allowed: Authorized<HoldCredits>,
    key: IdempotencyKey,
    body: JsonBody<HoldBody>,
) -> ApiResult<HttpResponse> {
    let req = HoldRequest::try_from(body.into_inner()?)?;
    let idem = key.for_caller(allowed.caller())?;
    let h = ledger::hold(&st.db, &allowed, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(h))
}

impl TryFrom<HoldBody> for HoldRequest {
    type Error = DomainError;
    fn try_from(b: HoldBody) -> Result<Self, DomainError> {
        HoldRequest::parse(b.talent_id, b.amount, &b.purpose, b.expires_in_seconds)
    }
}

//! POST /credits/spends.

use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::responses::*;
use crate::routes::schemas::{Credits, Purpose};
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::DomainError;
use kartel_domain::ledger::{self, CreditTransaction, SpendRequest};
use kartel_domain::policy::SpendCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendBody {
    /// Required for a service key; a person may only name themselves.
    pub talent_id: Option<Uuid>,
    /// How many credits to spend.
    #[schema(value_type = Credits)]
    pub amount: i64,
    #[schema(value_type = Purpose)]
    pub purpose: String,
}

/// Spend credits.
///
/// For a service key with `credits:spend` (naming `talent_id`) or a
/// signed-in talent (their own credits; naming someone else is 403). Never
/// takes a talent below zero available. Needs an `Idempotency-Key`: a retry
/// with the same key and body answers the first outcome again. Refusals:
/// 404 no such talent; 409 `insufficient_credits` or
/// `idempotency_in_progress`; 422 `validation_failed` or
/// `idempotency_key_reused`.
#[utoipa::path(
    tag = "credits",
    operation_id = "create_spend",
    security(("bearer" = []), ("api_key" = [])),
    params(IdempotencyHeader),
    request_body = SpendBody,
    responses(
        (status = 201, description = "The spend, as it touched the talent's credits", body = CreditTransaction),
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
#[post("/credits/spends")]
pub async fn create_spend(
    st: State,
    allowed: Authorized<SpendCredits>,
    key: IdempotencyKey,
    body: JsonBody<SpendBody>,
) -> ApiResult<HttpResponse> {
    let req = SpendRequest::try_from(body.into_inner()?)?;
    let idem = key.for_caller(allowed.caller())?;
    let t = ledger::spend(&st.db, &allowed, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(t))
}

impl TryFrom<SpendBody> for SpendRequest {
    type Error = DomainError;
    fn try_from(b: SpendBody) -> Result<Self, DomainError> {
        SpendRequest::parse(b.talent_id, b.amount, &b.purpose)
    }
}

//! POST /credits/grants.

use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::responses::*;
use crate::routes::schemas::{Credits, Reason};
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::DomainError;
use kartel_domain::ledger::{self, CreditTransaction, GrantRequest};
use kartel_domain::policy::GrantCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// Who receives the credits (a user id; not your own).
    pub talent_id: Uuid,
    /// How many credits to grant.
    #[schema(value_type = Credits)]
    pub amount: i64,
    #[schema(value_type = Reason)]
    pub reason: String,
}

/// Grant credits to a talent (community manager, admin).
///
/// Adds credits to the talent's balance from the grants account; nobody may
/// grant to themselves (403). Needs an `Idempotency-Key`: a retry with the
/// same key and body answers the first outcome again. Refusals: 404 no such
/// talent; 409 `balance_limit_exceeded` or `idempotency_in_progress`; 422
/// `validation_failed` or `idempotency_key_reused`. Audited.
#[utoipa::path(
    tag = "credits",
    operation_id = "create_grant",
    security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body = GrantBody,
    responses(
        (status = 201, description = "The grant, as it touched the talent's credits", body = CreditTransaction),
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
#[post("/credits/grants")]
pub async fn create_grant(
    st: State,
    allowed: Authorized<GrantCredits>,
    key: IdempotencyKey,
    body: JsonBody<GrantBody>,
) -> ApiResult<HttpResponse> {
    let req = GrantRequest::try_from(body.into_inner()?)?;
    let idem = key.for_caller(allowed.caller())?;
    let t = ledger::grant(&st.db, &allowed, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(t))
}

impl TryFrom<GrantBody> for GrantRequest {
    type Error = DomainError;
    fn try_from(b: GrantBody) -> Result<Self, DomainError> {
        GrantRequest::parse(b.talent_id, b.amount, &b.reason)
    }
}

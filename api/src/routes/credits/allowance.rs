//! POST /credits/allowance: claim this month's allowance.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::ledger::{self, CreditTransaction};
use kartel_domain::policy::ClaimAllowance;

/// Claim this month's allowance.
///
/// Credits you the monthly allowance of your headline tier (see
/// `list_allowance_policies`), once per calendar month (UTC). No body.
/// Needs an `Idempotency-Key`: a retry with the same key answers the first
/// outcome again. Refusals: 403 `email_unverified` until your address is
/// verified (`verify_email`; that refusal is not remembered by the key); 409 `allowance_already_claimed`, `no_allowance`
/// (none for your tier), `balance_limit_exceeded` or
/// `idempotency_in_progress`; 422 a missing or reused key.
#[utoipa::path(
    tag = "credits",
    operation_id = "claim_allowance",
    security(("bearer" = [])),
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The allowance, as credited to you", body = CreditTransaction),
        Unauthorized,
        Forbidden,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/allowance")]
pub async fn claim_allowance(
    st: State,
    allowed: Authorized<ClaimAllowance>,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let idem = key.for_caller(allowed.caller())?;
    let t = ledger::claim_allowance(&st.db, &allowed, idem.as_ref()).await?;
    Ok(HttpResponse::Created().json(t))
}

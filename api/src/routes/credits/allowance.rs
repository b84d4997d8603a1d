//! POST /credits/allowance: claim this month's allowance.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{CurrentUser, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::ledger::{self, CreditTransaction};

/// Claim this month's allowance for your headline tier (once per month, UTC).
#[utoipa::path(
    tag = "credits",
    operation_id = "claim_allowance",
    security(("bearer" = [])),
    params(IdempotencyHeader),
    responses(
        (status = 201, body = CreditTransaction),
        Unauthorized,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/allowance")]
pub async fn claim_allowance(
    st: State,
    user: CurrentUser,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let caller = kartel_domain::Caller::User(user.0);
    let idem = key.for_caller(&caller)?;
    let t = ledger::claim_allowance(&st.db, &caller, idem.as_ref()).await?;
    Ok(HttpResponse::Created().json(t))
}

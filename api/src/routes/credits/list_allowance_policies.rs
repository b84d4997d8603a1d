//! GET /credits/allowance-policies.

use crate::error::ApiResult;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::ledger::{self, AllowancePolicy};

/// Monthly allowance per headline tier.
///
/// Public: no token needed. One entry per tier that has a policy, by tier;
/// an amount of 0 means no allowance for that tier.
#[utoipa::path(
    tag = "credits",
    operation_id = "list_allowance_policies",
    security(()),
    responses((status = 200, description = "The policies, by tier", body = Vec<AllowancePolicy>))
)]
#[get("/credits/allowance-policies")]
pub async fn list_allowance_policies(st: State) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::allowance_policies(&st.db).await?))
}

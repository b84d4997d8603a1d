//! GET /credits/allowance-policies.

use crate::error::ApiResult;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::ledger::{self, AllowancePolicy};

/// Monthly allowance per headline tier.
#[utoipa::path(
    tag = "credits",
    operation_id = "list_allowance_policies",
    responses((status = 200, body = Vec<AllowancePolicy>))
)]
#[get("/credits/allowance-policies")]
pub async fn list_allowance_policies(st: State) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::allowance_policies(&st.db).await?))
}

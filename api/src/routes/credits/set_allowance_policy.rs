//! PUT /credits/allowance-policies/{tier}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::extractors::JsonBody;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, put, web};
use kartel_domain::ledger::{self, AllowancePolicy};
use kartel_domain::policy::SetAllowancePolicy;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowancePolicyBody {
    /// Credits per month; 0 turns the allowance off for this tier.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub amount: i64,
}

/// Set the monthly allowance of a headline tier (admin).
///
/// Creates or replaces the tier's policy; 0 turns the allowance off. Claims
/// already made this month stand. A tier that is not a whole number is 404;
/// one outside 0–5 is 422. Audited with before and after.
#[utoipa::path(
    tag = "credits",
    operation_id = "set_allowance_policy",
    security(("bearer" = [])),
    params(("tier" = i16, Path, minimum = 0, maximum = 5, description = "The headline tier: 0 (not enrolled yet) to 5")),
    request_body = AllowancePolicyBody,
    responses(
        (status = 200, description = "The tier's policy as it now is", body = AllowancePolicy),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[put("/credits/allowance-policies/{tier}")]
pub async fn set_allowance_policy(
    st: State,
    allowed: Authorized<SetAllowancePolicy>,
    tier: web::Path<i16>,
    body: JsonBody<AllowancePolicyBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let policy = ledger::set_allowance(&st.db, &allowed, i64::from(*tier), body.amount).await?;
    Ok(HttpResponse::Ok().json(policy))
}

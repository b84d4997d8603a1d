//! POST /credits/grants.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{CurrentUser, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::ledger::{self, CreditTransaction, GrantRequest};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    pub talent_id: Uuid,
    /// Positive whole credits, at most 1,000,000,000.
    #[schema(minimum = 1, maximum = 1000000000, example = 100)]
    pub amount: i64,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub reason: String,
}

/// Grant credits to a talent (community manager, admin; never yourself).
#[utoipa::path(
    tag = "credits",
    operation_id = "create_grant",
    security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body = GrantBody,
    responses(
        (status = 201, body = CreditTransaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/grants")]
pub async fn create_grant(
    st: State,
    user: CurrentUser,
    key: IdempotencyKey,
    body: JsonBody<GrantBody>,
) -> ApiResult<HttpResponse> {
    let caller = kartel_domain::Caller::User(user.0);
    let idem = key.for_caller(&caller)?;
    let b = body.into_inner();
    let req = GrantRequest {
        talent_id: b.talent_id,
        amount: b.amount,
        reason: b.reason,
    };
    let t = ledger::grant(&st.db, &caller, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(t))
}

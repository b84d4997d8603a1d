//! POST /credits/grants.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{CurrentUser, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::schemas::{Credits, Memo};
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
    #[schema(value_type = Credits, example = 100)]
    pub amount: i64,
    #[schema(value_type = Memo)]
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

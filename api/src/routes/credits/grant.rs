//! POST /credits/grants.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::schemas::{Credits, Memo};
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
    allowed: Authorized<GrantCredits>,
    key: IdempotencyKey,
    body: JsonBody<GrantBody>,
) -> ApiResult<HttpResponse> {
    let req = GrantRequest::try_from(body.into_inner())?;
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

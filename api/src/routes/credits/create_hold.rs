//! POST /credits/holds.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::schemas::{Credits, Memo};
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::DomainError;
use kartel_domain::ledger::{self, Hold, HoldRequest};
use kartel_domain::policy::HoldCredits;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// Required for a service key; a person may only name themselves.
    pub talent_id: Option<Uuid>,
    #[schema(value_type = Credits, example = 50)]
    pub amount: i64,
    #[schema(value_type = Memo)]
    pub purpose: String,
    /// 1 to 604800; default 900.
    #[schema(minimum = 1, maximum = 604800)]
    pub expires_in_seconds: Option<i64>,
}

/// Reserve credits for a generation run (service key with `credits:hold`, or the talent).
#[utoipa::path(
    tag = "credits",
    operation_id = "create_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(IdempotencyHeader),
    request_body = HoldBody,
    responses(
        (status = 201, body = Hold),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/holds")]
pub async fn create_hold(
    st: State,
    allowed: Authorized<HoldCredits>,
    key: IdempotencyKey,
    body: JsonBody<HoldBody>,
) -> ApiResult<HttpResponse> {
    let req = HoldRequest::try_from(body.into_inner())?;
    let idem = key.for_caller(allowed.caller())?;
    let h = ledger::hold(&st.db, &allowed, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(h))
}

impl TryFrom<HoldBody> for HoldRequest {
    type Error = DomainError;
    fn try_from(b: HoldBody) -> Result<Self, DomainError> {
        HoldRequest::parse(b.talent_id, b.amount, &b.purpose, b.expires_in_seconds)
    }
}

//! POST /credits/holds.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{AnyCaller, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::schemas::{Credits, Memo};
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::ledger::{self, Hold, HoldRequest};
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
    caller: AnyCaller,
    key: IdempotencyKey,
    body: JsonBody<HoldBody>,
) -> ApiResult<HttpResponse> {
    let idem = key.for_caller(&caller.0)?;
    let b = body.into_inner();
    let req = HoldRequest {
        talent_id: b.talent_id,
        amount: b.amount,
        purpose: b.purpose,
        expires_in_seconds: b.expires_in_seconds,
    };
    let h = ledger::hold(&st.db, &caller.0, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(h))
}

//! POST /credits/transactions/{id}/reverse.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::schemas::Memo;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::ledger::{self, CreditTransaction, ReverseRequest};
use kartel_domain::policy::ReverseTransaction;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseBody {
    #[schema(value_type = Memo)]
    pub reason: String,
}

/// Reverse a transaction with an opposite one (admin; once per transaction).
#[utoipa::path(
    tag = "credits",
    operation_id = "reverse_transaction",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), IdempotencyHeader),
    request_body = ReverseBody,
    responses(
        (status = 201, body = CreditTransaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/transactions/{id}/reverse")]
pub async fn reverse_transaction(
    st: State,
    allowed: Authorized<ReverseTransaction>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<ReverseBody>,
) -> ApiResult<HttpResponse> {
    let req = ReverseRequest::parse(*id, &body.reason)?;
    let idem = key.for_caller(allowed.caller())?;
    let t = ledger::reverse(&st.db, &allowed, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(t))
}

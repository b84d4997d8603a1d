//! POST /credits/transactions/{id}/reverse.

use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::extractors::{Authorized, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::responses::*;
use crate::routes::schemas::Reason;
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
    /// Why the transaction is reversed (e.g. granted twice by mistake).
    #[schema(value_type = Reason)]
    pub reason: String,
}

/// Reverse a transaction (admin).
///
/// Posts the opposite transaction; the original stays in the books. Once
/// per transaction. Needs an `Idempotency-Key`. Refusals: 404 no such
/// transaction; 409 `already_reversed`, `reversal_not_reversible` (a
/// reversal cannot be reversed), `insufficient_credits` (the talent has
/// spent the credits since), `balance_limit_exceeded` or
/// `idempotency_in_progress`; 422 `validation_failed` or
/// `idempotency_key_reused`. Audited.
#[utoipa::path(
    tag = "credits",
    operation_id = "reverse_transaction",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The id of the transaction to reverse"), IdempotencyHeader),
    request_body = ReverseBody,
    responses(
        (status = 201, description = "The reversal, as it touched the talent's credits", body = CreditTransaction),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
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
    let body = body.into_inner()?;
    let req = ReverseRequest::parse(*id, &body.reason)?;
    let idem = key.for_caller(allowed.caller())?;
    let t = ledger::reverse(&st.db, &allowed, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(t))
}

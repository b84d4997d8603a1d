//! POST /credits/transactions/{id}/reverse.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{CurrentUser, IdempotencyKey};
use crate::routes::IdempotencyHeader;
use crate::routes::schemas::Memo;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::ledger::{self, CreditTransaction, ReverseRequest};
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
    user: CurrentUser,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<ReverseBody>,
) -> ApiResult<HttpResponse> {
    let caller = kartel_domain::Caller::User(user.0);
    let idem = key.for_caller(&caller)?;
    let t = ledger::reverse(
        &st.db,
        &caller,
        idem.as_ref(),
        *id,
        ReverseRequest {
            reason: body.into_inner().reason,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(t))
}

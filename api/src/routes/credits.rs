//! Money-moving credit operations. Each needs an `Idempotency-Key` header:
//! a retry with the same key and body gets the first answer again.

use actix_web::{HttpResponse, get, post, put, web};
use kartel_domain::ledger::{
    self, AllowancePolicy, CreditTransaction, GrantRequest, Hold, HoldRequest, ReverseRequest,
    SpendRequest,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{IdempotencyHeader, optional_json};
use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::extractors::{AnyCaller, CurrentUser, IdempotencyKey};
use crate::state::State;

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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendBody {
    /// Required for a service key; a person may only name themselves.
    pub talent_id: Option<Uuid>,
    #[schema(minimum = 1, maximum = 1000000000, example = 10)]
    pub amount: i64,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub purpose: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// Required for a service key; a person may only name themselves.
    pub talent_id: Option<Uuid>,
    #[schema(minimum = 1, maximum = 1000000000, example = 50)]
    pub amount: i64,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub purpose: String,
    /// 1 to 604800; default 900.
    #[schema(minimum = 1, maximum = 604800)]
    pub expires_in_seconds: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Up to the held amount; default all of it. The rest is released.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub amount: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseBody {
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

/// Claim this month's allowance for your headline tier (once per month, UTC).
#[utoipa::path(
    tag = "credits",
    operation_id = "claim_allowance",
    security(("bearer" = [])),
    params(IdempotencyHeader),
    responses(
        (status = 201, body = CreditTransaction),
        Unauthorized,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/allowance")]
pub async fn claim_allowance(
    st: State,
    user: CurrentUser,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let caller = kartel_domain::Caller::User(user.0);
    let idem = key.for_caller(&caller)?;
    let t = ledger::claim_allowance(&st.db, &caller, idem.as_ref()).await?;
    Ok(HttpResponse::Created().json(t))
}

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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowancePolicyBody {
    /// Credits per month; 0 turns the allowance off for this tier.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub amount: i64,
}

/// Set the monthly allowance of a headline tier (admin).
#[utoipa::path(
    tag = "credits",
    operation_id = "set_allowance_policy",
    security(("bearer" = [])),
    params(("tier" = i16, Path, minimum = 0, maximum = 5, description = "0 (not enrolled yet) to 5")),
    request_body = AllowancePolicyBody,
    responses(
        (status = 200, body = AllowancePolicy),
        Unauthorized,
        Forbidden,
        Unprocessable,
    )
)]
#[put("/credits/allowance-policies/{tier}")]
pub async fn set_allowance_policy(
    st: State,
    user: CurrentUser,
    tier: web::Path<i16>,
    body: JsonBody<AllowancePolicyBody>,
) -> ApiResult<HttpResponse> {
    let caller = kartel_domain::Caller::User(user.0);
    let policy = ledger::set_allowance(&st.db, &caller, *tier, body.amount).await?;
    Ok(HttpResponse::Ok().json(policy))
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

/// A hold (service key with `credits:hold`, or its talent).
#[utoipa::path(
    tag = "credits",
    operation_id = "get_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Hold),
        Unauthorized,
        NotFound,
    )
)]
#[get("/credits/holds/{id}")]
pub async fn get_hold(
    st: State,
    caller: AnyCaller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::get_hold(&st.db, &caller.0, *id).await?))
}

/// Capture all or part of a hold; the rest is released.
#[utoipa::path(
    tag = "credits",
    operation_id = "capture_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), IdempotencyHeader),
    request_body(content = Option<CaptureBody>),
    responses(
        (status = 200, body = Hold),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/holds/{id}/capture")]
pub async fn capture_hold(
    st: State,
    caller: AnyCaller,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body: CaptureBody = optional_json(&body)?;
    let idem = key.for_caller(&caller.0)?;
    let h = ledger::capture(&st.db, &caller.0, idem.as_ref(), *id, body.amount).await?;
    Ok(HttpResponse::Ok().json(h))
}

/// Release a hold in full.
#[utoipa::path(
    tag = "credits",
    operation_id = "release_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), IdempotencyHeader),
    request_body(content = Option<ReleaseBody>),
    responses(
        (status = 200, body = Hold),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/holds/{id}/release")]
pub async fn release_hold(
    st: State,
    caller: AnyCaller,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let _: ReleaseBody = optional_json(&body)?;
    let idem = key.for_caller(&caller.0)?;
    let h = ledger::release(&st.db, &caller.0, idem.as_ref(), *id).await?;
    Ok(HttpResponse::Ok().json(h))
}

/// Spend credits (service key with `credits:spend`, or the talent).
#[utoipa::path(
    tag = "credits",
    operation_id = "create_spend",
    security(("bearer" = []), ("api_key" = [])),
    params(IdempotencyHeader),
    request_body = SpendBody,
    responses(
        (status = 201, body = CreditTransaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[post("/credits/spends")]
pub async fn create_spend(
    st: State,
    caller: AnyCaller,
    key: IdempotencyKey,
    body: JsonBody<SpendBody>,
) -> ApiResult<HttpResponse> {
    let idem = key.for_caller(&caller.0)?;
    let b = body.into_inner();
    let req = SpendRequest {
        talent_id: b.talent_id,
        amount: b.amount,
        purpose: b.purpose,
    };
    let t = ledger::spend(&st.db, &caller.0, idem.as_ref(), req).await?;
    Ok(HttpResponse::Created().json(t))
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

//! The signed-in person: profile, password, own credits.

use actix_web::{HttpResponse, get, patch, post, web};
use kartel_domain::Caller;
use kartel_domain::accounts::{self, Account, ProfileChange};
use kartel_domain::ledger::{self, Balance, CreditTransaction};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{PageOf, PageQuery};
use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::CurrentUser;
use crate::extractors::JsonBody;
use crate::routes::talents::HistoryQuery;
use crate::state::State;

/// Profile fields you may change. Anything else (roles, status, tier,
/// credits…) is refused.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub display_name: Option<String>,
    /// Up to 1000 characters; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")]
    pub bio: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 10–128 characters.
    #[schema(min_length = 10, max_length = 128, pattern = "\\S")]
    pub new_password: String,
}

/// Your account.
#[utoipa::path(
    tag = "me",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses((status = 200, body = Account), Unauthorized)
)]
#[get("/me")]
pub async fn get_me(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts::get_account(&st.db, user.0.id).await?))
}

/// Change your display name or bio.
#[utoipa::path(
    tag = "me",
    operation_id = "update_me",
    security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, body = Account),
        Unauthorized,
        Unprocessable,
    )
)]
#[patch("/me")]
pub async fn update_me(
    st: State,
    user: CurrentUser,
    body: JsonBody<UpdateMeRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let change = ProfileChange {
        display_name: body.display_name,
        bio: body.bio,
    };
    Ok(HttpResponse::Ok().json(accounts::update_profile(&st.db, &user.0, change).await?))
}

/// Change your password; every other session of yours ends.
#[utoipa::path(
    tag = "me",
    operation_id = "change_password",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "changed"),
        Unauthorized,
        Unprocessable,
    )
)]
#[post("/me/password")]
pub async fn change_password(
    st: State,
    user: CurrentUser,
    body: JsonBody<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    accounts::change_password(&st.db, &user.0, &body.current_password, &body.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Your credit balance.
#[utoipa::path(
    tag = "credits",
    operation_id = "get_my_credits",
    security(("bearer" = [])),
    responses((status = 200, body = Balance), Unauthorized)
)]
#[get("/me/credits")]
pub async fn get_my_credits(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    let id = user.0.id;
    Ok(HttpResponse::Ok().json(ledger::balance(&st.db, &Caller::User(user.0), id).await?))
}

/// Your credit history, newest first.
#[utoipa::path(
    tag = "credits",
    operation_id = "list_my_credit_transactions",
    security(("bearer" = [])),
    params(PageQuery, HistoryQuery),
    responses(
        (status = 200, body = PageOf<CreditTransaction>),
        Unauthorized,
        Unprocessable,
    )
)]
#[get("/me/credits/transactions")]
pub async fn list_my_credit_transactions(
    st: State,
    user: CurrentUser,
    page: web::Query<PageQuery>,
    q: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let id = user.0.id;
    let page = ledger::history(
        &st.db,
        &Caller::User(user.0),
        id,
        &q.filter()?,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

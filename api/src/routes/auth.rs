//! Registration, sign-in, token refresh and sign-out.

use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts::{self, Account, NewAccount};
use kartel_domain::caller::Actor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::limit_auth;
use crate::error::responses::*;
use crate::error::{ApiError, ApiResult};
use crate::extractors::CurrentUser;
use crate::extractors::JsonBody;
use crate::state::State;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(
        example = "ada@example.com",
        max_length = 254,
        pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f]{1,64}@[^@\\s.\\x00-\\x1f\\x7f-\\x9f]+(\\.[^@\\s.\\x00-\\x1f\\x7f-\\x9f]+)+$"
    )]
    pub email: String,
    /// 10–128 characters.
    #[schema(min_length = 10, max_length = 128, pattern = "\\S")]
    pub password: String,
    /// 3–32 of a–z, 0–9, `_`, starting with a letter (stored lower-case).
    #[schema(example = "ada_l", pattern = "^[A-Za-z][A-Za-z0-9_]{2,31}$")]
    pub handle: String,
    #[schema(
        example = "Ada Lovelace",
        min_length = 1,
        max_length = 80,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub display_name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT (EdDSA) for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; good for one refresh.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

fn tokens(st: &State, sign_in: &accounts::SignIn) -> ApiResult<TokenResponse> {
    Ok(TokenResponse {
        access_token: st
            .keys
            .issue_access_token(sign_in.account.id, sign_in.session_id)
            .map_err(ApiError::internal)?,
        refresh_token: sign_in.refresh_token.clone(),
        token_type: "Bearer".into(),
        expires_in: st.keys.access_ttl,
    })
}

fn refresh_ttl(st: &State) -> chrono::Duration {
    chrono::Duration::seconds(st.settings.refresh_token_ttl_seconds)
}

/// Create a talent account.
#[utoipa::path(
    tag = "auth",
    operation_id = "register_account",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = Account),
        Conflict,
        Unprocessable,
        TooManyRequests,
    )
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    st: State,
    body: JsonBody<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let email_key = body.email.trim().to_lowercase();
    limit_auth(&req, &st, "register", Some(&email_key)).await?;
    let new = NewAccount::parse(
        &body.email,
        &body.password,
        &body.handle,
        &body.display_name,
    )?;
    let account = accounts::create_account(
        &st.db,
        new,
        Actor {
            kind: "user",
            id: None,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(account))
}

/// Sign in with email and password.
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        Unauthorized,
        Forbidden,
        TooManyRequests,
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    st: State,
    body: JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let email_key = body.email.trim().to_lowercase();
    limit_auth(&req, &st, "login", Some(&email_key)).await?;
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let sign_in =
        accounts::login(&st.db, &body.email, &body.password, ua, refresh_ttl(&st)).await?;
    Ok(HttpResponse::Ok().json(tokens(&st, &sign_in)?))
}

/// Trade a refresh token for new tokens. Each refresh token works once;
/// presenting a used one ends the whole login.
#[utoipa::path(
    tag = "auth",
    operation_id = "refresh_tokens",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        Unauthorized,
        TooManyRequests,
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    req: HttpRequest,
    st: State,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    limit_auth(&req, &st, "refresh", None).await?;
    let sign_in = accounts::refresh(&st.db, &body.refresh_token, refresh_ttl(&st)).await?;
    Ok(HttpResponse::Ok().json(tokens(&st, &sign_in)?))
}

/// End this session: its access and refresh tokens stop working.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    security(("bearer" = [])),
    responses((status = 204, description = "signed out"), Unauthorized)
)]
#[post("/auth/logout")]
pub async fn logout(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    accounts::logout(&st.db, &user.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

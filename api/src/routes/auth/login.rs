//! POST /auth/login: sign in with email and password.

use super::{TokenResponse, refresh_ttl, tokens};
use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::routes::limit_auth;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts::{self};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The email you registered with (any case).
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

/// Sign in with email and password.
///
/// Open to anyone: send no token. Answers an access token (a JWT for
/// `Authorization: Bearer`, good for `expires_in` seconds) and a refresh
/// token for `refresh_tokens`; together they are one session, which
/// `logout` ends. A wrong email and a wrong password get the same 401
/// `invalid_credentials`; a suspended account gets 403 `account_suspended`.
/// Rate limited per client IP and per email (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: the session's tokens", body = TokenResponse),
        BadRequest,
        InvalidCredentials,
        AccountSuspended,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
        TooManyRequests,
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    st: State,
    body: JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
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

//! POST /auth/login: sign in with email and password.

use super::{TokenResponse, refresh_ttl, tokens};
use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::JsonBody;
use crate::routes::limit_auth;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts::{self};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
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

//! POST /auth/refresh: rotate a refresh token.

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
pub struct RefreshRequest {
    pub refresh_token: String,
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

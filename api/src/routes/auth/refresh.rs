//! POST /auth/refresh: rotate a refresh token.

use super::{TokenResponse, refresh_ttl, tokens};
use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::routes::limit_auth;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::{DomainError, accounts};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The `refresh_token` of the last `login` or refresh answer.
    #[schema(example = "rt_3q2x8KpZ0uYt7mNcVb1WfLr4sHd9gJe6aQo5iXz_kUw")]
    pub refresh_token: String,
}

/// Trade a refresh token for new tokens.
///
/// Open to anyone: the refresh token is the credential, send no access
/// token. Each refresh token works once and is replaced by the one in the
/// answer; presenting a used one again (401 `refresh_token_reused`) ends the
/// whole login, as a stolen token would have been used. Rate limited per
/// client IP (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    operation_id = "refresh_tokens",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens for the same session", body = TokenResponse),
        BadRequest,
        InvalidRefreshToken,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
        TooManyRequests,
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    req: HttpRequest,
    st: State,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    limit_auth(&req, &st, "refresh", None).await?;
    let refreshed = accounts::refresh(&st.db, &body.refresh_token, refresh_ttl(&st)).await;
    if let Err(DomainError::RefreshTokenReused { user }) = &refreshed {
        // The login ended: every instance stops taking its sessions.
        st.sessions.revoked(*user).await;
    }
    let sign_in = refreshed?;
    Ok(HttpResponse::Ok().json(tokens(&st, &sign_in)?))
}

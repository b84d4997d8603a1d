//! POST /auth/password-reset/confirm: choose a new password with the link's token.

use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::routes::limit_auth;
use crate::routes::responses::*;
use crate::routes::schemas::NewPassword;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPasswordResetRequest {
    /// The `token` of the link in the reset mail.
    #[schema(
        example = "pr_4Lr8Tz6Wc5Yn1Ha0Eu2Fi4Go6Bk9x2sJ0b1Qm3Vd7Kp",
        max_length = 128
    )]
    pub token: String,
    /// 10–128 characters.
    #[schema(value_type = NewPassword)]
    pub new_password: String,
}

/// Set a new password with a reset link.
///
/// Open to anyone (the token is the proof). Sets the password and ends
/// every session of the account; the address counts as verified from then
/// on. A token works once, for 30 minutes, and only the newest one sent;
/// otherwise (or when the account's address changed since) 400
/// `invalid_token`. A password that is too short or long is 422 and leaves
/// the token unused. Rate limited per client IP.
#[utoipa::path(
    tag = "auth",
    operation_id = "confirm_password_reset",
    security(()),
    request_body = ConfirmPasswordResetRequest,
    responses(
        (status = 204, description = "The password is set; sign in with it"),
        BadLinkToken,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
        TooManyRequests,
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    req: HttpRequest,
    st: State,
    body: JsonBody<ConfirmPasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    limit_auth(&req, &st, "password-reset-confirm", None).await?;
    let user = accounts::confirm_password_reset(&st.db, &body.token, &body.new_password).await?;
    st.sessions.revoked(user).await;
    Ok(HttpResponse::NoContent().finish())
}

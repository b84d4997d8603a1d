//! POST /auth/password-reset: ask for a reset link by mail.

use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::routes::limit_auth;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The address the account signs in with (any case).
    #[schema(example = "ada@example.com")]
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordResetAccepted {
    #[schema(
        example = "If an account uses this address, a link to reset its password is on its way."
    )]
    pub message: String,
}

const ACCEPTED: &str =
    "If an account uses this address, a link to reset its password is on its way.";

/// Ask for a password reset link.
///
/// Open to anyone. Always answers 202 with the same body, at once, whether
/// or not an account uses the address (nobody learns who has an account
/// here); when one does, a link valid for 30 minutes is mailed to it and
/// `confirm_password_reset` uses it. Rate limited per client IP and per
/// address (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    operation_id = "request_password_reset",
    security(()),
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted (the same answer for any address)", body = PasswordResetAccepted),
        BadRequest,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
        TooManyRequests,
    )
)]
#[post("/auth/password-reset")]
pub async fn request_password_reset(
    req: HttpRequest,
    st: State,
    body: JsonBody<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let email_key = body.email.trim().to_lowercase();
    limit_auth(&req, &st, "password-reset", Some(&email_key)).await?;
    // The answer must not depend on whether the address is known, in its
    // content or its timing: the lookup and the mail happen after it.
    // At most a few at a time, so a flood cannot take the pool's connections.
    static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let state = st.clone();
    tokio::spawn(async move {
        let Ok(_permit) = RUNNING.acquire().await else {
            return;
        };
        match accounts::request_password_reset(&state.db, &body.email, &state.links).await {
            Ok(()) => state.mailer.poke(),
            Err(e) => tracing::error!(error = %e, "a password reset request failed"),
        }
    });
    Ok(HttpResponse::Accepted().json(PasswordResetAccepted {
        message: ACCEPTED.into(),
    }))
}

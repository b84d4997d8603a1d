//! POST /auth/verify-email: follow the link mailed to an address.

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
pub struct VerifyEmailRequest {
    /// The `token` of the link in the mail.
    #[schema(
        example = "ve_9x2sJ0b1Qm3Vd7Kp4Lr8Tz6Wc5Yn1Ha0Eu2Fi4Go6Bk",
        max_length = 128
    )]
    pub token: String,
}

/// A verified address (nothing else of the account: links get forwarded).
#[derive(Serialize, ToSchema)]
pub struct VerifiedEmail {
    /// The account's address now.
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub email_verified: bool,
}

/// Verify an email address.
///
/// Open to anyone (the token is the proof): the portal page the mailed link
/// opens sends its `token` here. The address becomes verified; for an
/// email change (`change_email`), the account's address becomes the new
/// one. A token works once and for 48 hours, and only the newest one sent
/// works; otherwise 400 `invalid_token`. If the new address was taken in
/// the meantime: 409 `email_taken`. Rate limited per client IP.
#[utoipa::path(
    tag = "auth",
    operation_id = "verify_email",
    security(()),
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Verified", body = VerifiedEmail),
        BadLinkToken,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
        TooManyRequests,
    )
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    req: HttpRequest,
    st: State,
    body: JsonBody<VerifyEmailRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    limit_auth(&req, &st, "verify-email", None).await?;
    let account = accounts::verify_email(&st.db, &body.token).await?;
    Ok(HttpResponse::Ok().json(VerifiedEmail {
        email: account.email,
        email_verified: account.email_verified,
    }))
}

//! POST /auth/verify-email/resend: mail a new verification link.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::limit_auth;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts;

/// Mail a new verification link.
///
/// For the signed-in person whose address is not verified yet: a new link
/// goes to it, and earlier links stop working. Already verified: 409
/// `email_already_verified`. Rate limited per person and per client IP
/// (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    operation_id = "resend_verification_email",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way"),
        Unauthorized,
        AlreadyVerified,
        TooManyRequests,
    )
)]
#[post("/auth/verify-email/resend")]
pub async fn resend_verification(
    req: HttpRequest,
    st: State,
    user: CurrentUser,
) -> ApiResult<HttpResponse> {
    limit_auth(&req, &st, "verify-resend", Some(&user.0.id.to_string())).await?;
    accounts::resend_verification(&st.db, &user.0, &st.links).await?;
    st.mailer.poke();
    Ok(HttpResponse::Accepted().finish())
}

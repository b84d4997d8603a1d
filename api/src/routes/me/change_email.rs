//! POST /me/email: change one's address (confirmed from the new one).

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, JsonBody};
use crate::routes::limit_auth;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    /// The new address.
    #[schema(example = "ada.lovelace@example.org", max_length = 254)]
    pub new_email: String,
    /// Your password now; a wrong one is refused (422 naming `password`).
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

/// Change your email address.
///
/// Needs your password. A verification link goes to the new address and a
/// notice to the current one; the account's address changes (verified)
/// when the link is followed (`verify_email`), and until then you sign in
/// with the current one. The new address must be unused (409
/// `email_taken`). Rate limited per person and per client IP.
#[utoipa::path(
    tag = "me",
    operation_id = "change_email",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, description = "A link is on its way to the new address"),
        BadRequest,
        Unauthorized,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidPassword,
        TooManyRequests,
    )
)]
#[post("/me/email")]
pub async fn change_email(
    req: HttpRequest,
    st: State,
    user: CurrentUser,
    body: JsonBody<ChangeEmailRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    limit_auth(&req, &st, "change-email", Some(&user.0.id.to_string())).await?;
    accounts::change_email(&st.db, &user.0, &body.new_email, &body.password, &st.links).await?;
    st.mailer.poke();
    Ok(HttpResponse::Accepted().finish())
}

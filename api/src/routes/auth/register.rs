//! POST /auth/register: create a talent account.

use crate::error::ApiResult;
use crate::extractors::JsonBody;
use crate::routes::limit_auth;
use crate::routes::responses::*;
use crate::routes::schemas::{DisplayNameText, NewPassword};
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, post};
use kartel_domain::accounts::{self, Account, NewAccount};
use kartel_domain::caller::Actor;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Your email: unique, stored lower-case; you sign in with it.
    #[schema(
        example = "ada@example.com",
        max_length = 254,
        pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f]{1,64}@[^@\\s.\\x00-\\x1f\\x7f-\\x9f]+(\\.[^@\\s.\\x00-\\x1f\\x7f-\\x9f]+)+$"
    )]
    pub email: String,
    /// 10–128 characters; stored only as a hash.
    #[schema(value_type = NewPassword)]
    pub password: String,
    /// 3–32 of a–z, 0–9, `_`, starting with a letter (stored lower-case).
    #[schema(example = "ada_l", pattern = "^[A-Za-z][A-Za-z0-9_]{2,31}$")]
    pub handle: String,
    /// Shown on your profile; change it later with `update_me`.
    #[schema(value_type = DisplayNameText)]
    pub display_name: String,
}

/// Create a talent account.
///
/// Open to anyone: send no token. The new account is `active` with the
/// `talent` role and no credits; sign in with `login` to get tokens. A link
/// that verifies the address is mailed to it (`verify_email`); until it is
/// followed, `email_verified` is false and claiming an allowance,
/// submitting work and being certified or nominated are refused. Email
/// and handle are stored lower-case and must each be unused. Refusals: 409
/// `email_taken` or `handle_taken`; 422 `validation_failed` naming each bad
/// field. Rate limited per client IP and per email (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    operation_id = "register_account",
    security(()),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The new account", body = Account),
        BadRequest,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
        TooManyRequests,
    )
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    st: State,
    body: JsonBody<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
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
        &st.links,
    )
    .await?;
    st.mailer.poke();
    Ok(HttpResponse::Created().json(account))
}

//! Registration, sign-in, token refresh and sign-out.

pub mod login;
pub mod logout;
pub mod password_reset;
pub mod password_reset_confirm;
pub mod refresh;
pub mod register;
pub mod resend_verification;
pub mod verify_email;

use crate::error::{ApiError, ApiResult};
use crate::state::State;
use kartel_domain::accounts;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT (EdDSA) for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; good for one refresh.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

fn tokens(st: &State, sign_in: &accounts::SignIn) -> ApiResult<TokenResponse> {
    Ok(TokenResponse {
        access_token: st
            .keys
            .issue_access_token(sign_in.account.id, sign_in.session_id)
            .map_err(ApiError::internal)?,
        refresh_token: sign_in.refresh_token.clone(),
        token_type: "Bearer".into(),
        expires_in: st.keys.access_ttl,
    })
}

fn refresh_ttl(st: &State) -> chrono::Duration {
    chrono::Duration::seconds(st.settings.refresh_token_ttl_seconds)
}

//! POST /auth/logout: end this session.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::accounts::{self};

/// End this session.
///
/// The session of the access token sent ends: that token and the session's
/// refresh token stop working at once. Other sessions of the same person
/// (other devices) go on.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), Unauthorized)
)]
#[post("/auth/logout")]
pub async fn logout(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    accounts::logout(&st.db, &user.0).await?;
    st.sessions.revoked(user.0.id).await;
    Ok(HttpResponse::NoContent().finish())
}

//! POST /auth/logout: end this session.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::CurrentUser;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::accounts::{self};

/// End this session: its access and refresh tokens stop working.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    security(("bearer" = [])),
    responses((status = 204, description = "signed out"), Unauthorized)
)]
#[post("/auth/logout")]
pub async fn logout(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    accounts::logout(&st.db, &user.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

//! GET /me.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::accounts::{self, Account};

/// Your account.
///
/// The signed-in person's own account, with email, roles, status and
/// headline tier.
#[utoipa::path(
    tag = "me",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses((status = 200, description = "Your account", body = Account), Unauthorized)
)]
#[get("/me")]
pub async fn get_me(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts::get_account(&st.db, user.0.id).await?))
}

//! GET /me/credits: your balance.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::Caller;
use kartel_domain::ledger::{self, Balance};

/// Your credit balance.
///
/// `available` is what you can spend or hold now; `held` is reserved by
/// open holds. Holds past their expiry are released first.
#[utoipa::path(
    tag = "credits",
    operation_id = "get_my_credits",
    security(("bearer" = [])),
    responses((status = 200, description = "Your balance", body = Balance), Unauthorized)
)]
#[get("/me/credits")]
pub async fn get_my_credits(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    let id = user.0.id;
    Ok(HttpResponse::Ok().json(ledger::balance(&st.db, &Caller::User(user.0), id).await?))
}

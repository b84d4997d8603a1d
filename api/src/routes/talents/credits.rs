//! GET /talents/{id}/credits.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::ledger::{self, Balance};
use uuid::Uuid;

/// A talent's credit balance (staff, or the talent).
///
/// Staff see anyone's; a talent sees only their own, and another talent's
/// answers 404 as if it did not exist.
#[utoipa::path(
    tag = "credits",
    operation_id = "get_talent_credits",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The talent's id (their user id)")),
    responses(
        (status = 200, description = "The talent's balance", body = Balance),
        Unauthorized,
        NotFound,
    )
)]
#[get("/talents/{id}/credits")]
pub async fn get_talent_credits(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::balance(&st.db, &Caller::User(user.0), *id).await?))
}

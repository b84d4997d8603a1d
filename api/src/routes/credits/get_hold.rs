//! GET /credits/holds/{id}.

use crate::error::ApiResult;
use crate::extractors::AnyCaller;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::ledger::{self, Hold};
use uuid::Uuid;

/// A hold (service key with `credits:hold`, or its talent).
///
/// To anyone else, including a service key without `credits:hold`, the hold
/// does not exist (404).
#[utoipa::path(
    tag = "credits",
    operation_id = "get_hold",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path, description = "The hold's id")),
    responses(
        (status = 200, description = "The hold", body = Hold),
        Unauthorized,
        NotFound,
    )
)]
#[get("/credits/holds/{id}")]
pub async fn get_hold(
    st: State,
    caller: AnyCaller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::get_hold(&st.db, &caller.0, *id).await?))
}

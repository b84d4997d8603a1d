//! GET /talents/{id}/credits/transactions.

use super::HistoryQuery;
use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::CurrentUser;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::ledger::{self, CreditTransaction};
use uuid::Uuid;

/// A talent's credit history, newest first (staff, or the talent).
#[utoipa::path(
    tag = "credits",
    operation_id = "list_talent_credit_transactions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery, HistoryQuery),
    responses(
        (status = 200, body = PageOf<CreditTransaction>),
        Unauthorized,
        NotFound,
    )
)]
#[get("/talents/{id}/credits/transactions")]
pub async fn list_talent_credit_transactions(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
    q: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::User(user.0);
    let page = ledger::history(
        &st.db,
        &caller,
        *id,
        &q.filter()?,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

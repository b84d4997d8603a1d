//! GET /me/credits/transactions: your history.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::talents::HistoryQuery;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::Caller;
use kartel_domain::ledger::{self, CreditTransaction};

/// Your credit history, newest first.
///
/// Every transaction that touched your credits, with your balance after it;
/// filter by kind and time. Pages never skip or repeat a transaction.
#[utoipa::path(
    tag = "credits",
    operation_id = "list_my_credit_transactions",
    security(("bearer" = [])),
    params(PageQuery, HistoryQuery),
    responses(
        (status = 200, description = "A page of your transactions", body = PageOf<CreditTransaction>),
        Unauthorized,
        InvalidQuery,
    )
)]
#[get("/me/credits/transactions")]
pub async fn list_my_credit_transactions(
    st: State,
    user: CurrentUser,
    page: Query<PageQuery>,
    q: Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let id = user.0.id;
    let page = ledger::history(
        &st.db,
        &Caller::User(user.0),
        id,
        &q.filter()?,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

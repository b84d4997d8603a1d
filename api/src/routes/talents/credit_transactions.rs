//! GET /talents/{id}/credits/transactions.

use super::HistoryQuery;
use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::ledger::{self, CreditTransaction};
use uuid::Uuid;

/// A talent's credit history, newest first (staff, or the talent).
///
/// As `list_my_credit_transactions`, for any talent: staff see anyone's; a
/// talent sees only their own, and another talent's answers 404.
#[utoipa::path(
    tag = "credits",
    operation_id = "list_talent_credit_transactions",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The talent's id (their user id)"),
        PageQuery,
        HistoryQuery
    ),
    responses(
        (status = 200, description = "A page of the talent's transactions", body = PageOf<CreditTransaction>),
        Unauthorized,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/talents/{id}/credits/transactions")]
pub async fn list_talent_credit_transactions(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
    q: Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
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

//! GET /me/credits/holds: your credit holds.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::talents::HoldQuery;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::Caller;
use kartel_domain::ledger::{self, Hold};

/// Your credit holds, newest first.
///
/// Holds reserve credits for generation runs until captured, released or
/// expired. With `status=pending`: what is reserved now (expired holds are
/// released first).
#[utoipa::path(
    tag = "credits",
    operation_id = "list_my_holds",
    security(("bearer" = [])),
    params(PageQuery, HoldQuery),
    responses(
        (status = 200, description = "A page of your holds", body = PageOf<Hold>),
        Unauthorized,
        InvalidQuery,
    )
)]
#[get("/me/credits/holds")]
pub async fn list_my_holds(
    st: State,
    user: CurrentUser,
    page: Query<PageQuery>,
    q: Query<HoldQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let id = user.0.id;
    let caller = Caller::User(user.0);
    let page = ledger::list_holds(
        &st.db,
        &caller,
        id,
        q.status,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

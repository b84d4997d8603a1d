//! GET /talents/{id}/credits/holds.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::ledger::{self, Hold};
use uuid::Uuid;

use super::HoldQuery;

/// A talent's credit holds, newest first (staff, or the talent).
///
/// As `list_my_holds`, for any talent: staff see anyone's; a talent sees
/// only their own, and another talent's answers 404.
#[utoipa::path(
    tag = "credits",
    operation_id = "list_talent_holds",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The talent's id (their user id)"),
        PageQuery,
        HoldQuery
    ),
    responses(
        (status = 200, description = "A page of the talent's holds", body = PageOf<Hold>),
        Unauthorized,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/talents/{id}/credits/holds")]
pub async fn list_talent_holds(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
    q: Query<HoldQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let caller = Caller::User(user.0);
    let page = ledger::list_holds(
        &st.db,
        &caller,
        *id,
        q.status,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

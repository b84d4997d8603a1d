//! GET /bench.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{Authorized, Query};
use crate::routes::pods::open_roles::RoleQuery;
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::pods::{self, BenchEntry};
use kartel_domain::policy::ViewTalentEngine;

/// The bench: Tier 5 talents without a slot (staff).
///
/// Available for placement with `PUT
/// /pods/{id}/slots/{slot_id}/assignment`; filter by track.
#[utoipa::path(
    tag = "pods",
    operation_id = "list_bench",
    security(("bearer" = [])),
    params(PageQuery, RoleQuery),
    responses(
        (status = 200, description = "A page of available Tier 5 talents", body = PageOf<BenchEntry>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/bench")]
pub async fn list_bench(
    st: State,
    allowed: Authorized<ViewTalentEngine>,
    page: Query<PageQuery>,
    q: Query<RoleQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let page = pods::bench(
        &st.db,
        &allowed,
        q.track,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

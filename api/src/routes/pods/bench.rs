//! GET /bench.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::pods::{self, BenchEntry};
use kartel_domain::policy::ViewTalentEngine;
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BenchQuery {
    /// Only talents of this track.
    pub track: Option<Track>,
    /// Also list suspended talents (marked `suspended`), who are not
    /// available for placement. Default false. Erased people are never listed.
    pub include_suspended: Option<bool>,
}

/// The bench: Tier 5 talents without a slot (staff).
///
/// Available for placement with `PUT
/// /pods/{id}/slots/{slot_id}/assignment`; filter by track. Suspended
/// people are not available: listed only with `include_suspended=true`,
/// marked `suspended`. Erased people never are.
#[utoipa::path(
    tag = "pods",
    operation_id = "list_bench",
    security(("bearer" = [])),
    params(PageQuery, BenchQuery),
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
    q: Query<BenchQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let page = pods::bench(
        &st.db,
        &allowed,
        q.track,
        q.include_suspended.unwrap_or(false),
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

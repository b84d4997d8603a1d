//! GET /roles/open.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::pods::{self, OpenRole};
use kartel_domain::policy::ViewTalentEngine;
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoleQuery {
    /// Only slots of this track.
    pub track: Option<Track>,
}

/// Open role slots across pods (staff).
///
/// Slots nobody fills, in pods that are not closed, oldest first; filter by
/// track.
#[utoipa::path(
    tag = "pods",
    operation_id = "list_open_roles",
    security(("bearer" = [])),
    params(PageQuery, RoleQuery),
    responses(
        (status = 200, description = "A page of open slots", body = PageOf<OpenRole>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/roles/open")]
pub async fn list_open_roles(
    st: State,
    allowed: Authorized<ViewTalentEngine>,
    page: Query<PageQuery>,
    q: Query<RoleQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let page = pods::open_roles(
        &st.db,
        &allowed,
        q.track,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

//! GET /handoffs.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::pods::{self, Nomination, NominationFilter, NominationStatus};
use kartel_domain::policy::ViewTalentEngine;
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HandoffQuery {
    pub status: Option<NominationStatus>,
    pub track: Option<Track>,
}

/// Nominations, newest first (staff).
///
/// Filter by status (`pending` lists those not yet expired) and track.
#[utoipa::path(
    tag = "handoffs",
    operation_id = "list_handoffs",
    security(("bearer" = [])),
    params(PageQuery, HandoffQuery),
    responses(
        (status = 200, description = "A page of nominations", body = PageOf<Nomination>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/handoffs")]
pub async fn list_handoffs(
    st: State,
    allowed: Authorized<ViewTalentEngine>,
    page: Query<PageQuery>,
    q: Query<HandoffQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let f = NominationFilter {
        status: q.status,
        track: q.track,
    };
    let page =
        pods::list_nominations(&st.db, &allowed, &f, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

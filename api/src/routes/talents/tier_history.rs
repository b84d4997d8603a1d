//! GET /talents/{id}/tier-history.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::tiers::{self, TierChange};
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TierHistoryQuery {
    /// Only changes in this track.
    pub track: Option<Track>,
}

/// A talent's tier history, newest first (the talent, staff).
///
/// Every change, automatic or by a person: from and to, who (`automatic`
/// or the person's id), why, and the evidence (submission and review ids,
/// the requirements' values, what stopped holding, the certificate). Another
/// talent's history is 404.
#[utoipa::path(
    tag = "tiers",
    operation_id = "get_tier_history",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The talent's id"), PageQuery, TierHistoryQuery),
    responses(
        (status = 200, description = "A page of tier changes", body = PageOf<TierChange>),
        Unauthorized,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/talents/{id}/tier-history")]
pub async fn get_tier_history(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
    q: Query<TierHistoryQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let page = tiers::tier_history(
        &st.db,
        &Caller::User(user.0),
        *id,
        q.track,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

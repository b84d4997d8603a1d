//! GET /pods.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::pods::{self, Pod, PodStatus};
use kartel_domain::policy::ViewTalentEngine;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PodQuery {
    /// Only pods with this status.
    pub status: Option<PodStatus>,
}

/// Pods, oldest first (staff).
///
/// Each with its slots, open engagements, capacity, completeness (a filled
/// slot of every core track: workflow engineer, AI generalist, preditor,
/// data/LoRA specialist) and the peak concurrency its engagement records
/// show.
#[utoipa::path(
    tag = "pods",
    operation_id = "list_pods",
    security(("bearer" = [])),
    params(PageQuery, PodQuery),
    responses(
        (status = 200, description = "A page of pods", body = PageOf<Pod>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/pods")]
pub async fn list_pods(
    st: State,
    allowed: Authorized<ViewTalentEngine>,
    page: Query<PageQuery>,
    q: Query<PodQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let page = pods::list_pods(
        &st.db,
        &allowed,
        q.status,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

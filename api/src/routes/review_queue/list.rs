//! GET /review-queue.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::challenges::{self, QueueFilter, QueueLine};
use kartel_domain::policy::ReviewSubmissions;
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Only this challenge's line.
    pub challenge_id: Option<Uuid>,
    /// Only challenges of this track.
    pub track: Option<Track>,
}

/// The review queue's depth (community manager, admin).
///
/// One line per judging challenge with reviews to do, in challenge order:
/// how many review seats wait to be claimed, how many are claimed, and
/// when the oldest waiting submission was submitted (and its age in
/// seconds).
#[utoipa::path(
    tag = "review-queue",
    operation_id = "get_review_queue",
    security(("bearer" = [])),
    params(PageQuery, QueueQuery),
    responses(
        (status = 200, description = "A page of the queue's lines", body = PageOf<QueueLine>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/review-queue")]
pub async fn get_review_queue(
    st: State,
    allowed: Authorized<ReviewSubmissions>,
    page: Query<PageQuery>,
    q: Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let f = QueueFilter {
        challenge: q.challenge_id,
        track: q.track,
    };
    let page =
        challenges::queue(&st.db, &allowed, &f, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

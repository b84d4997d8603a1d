//! GET /reviews/metrics.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use chrono::{DateTime, Utc};
use kartel_domain::challenges::{MetricsFilter, ReviewMetrics};
use kartel_domain::policy::ViewReviewMetrics;
use kartel_domain::types::{Limit, Track};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// Only submissions to challenges of this track.
    pub track: Option<Track>,
    /// Only submissions to this challenge.
    pub challenge_id: Option<Uuid>,
    /// Only submissions submitted from this time (inclusive), RFC 3339.
    pub from: Option<DateTime<Utc>>,
    /// Only submissions submitted before this time (exclusive), RFC 3339;
    /// not before `from`.
    pub to: Option<DateTime<Utc>>,
    /// How many reviewers to list: 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
}

/// Reviewer quality, measured (community manager, admin).
///
/// Over the submissions the filters select: the backlog (open review
/// seats, and how many are claimed), how long waiting submissions have
/// waited (p50 and p90, nearest rank, in seconds since submission), how
/// many wait past their challenge's `review_due_at`; reviews per
/// reviewer (the reviews that stand, most first, at most `limit`
/// reviewers; `reviewers_total` counts them all); and over submissions
/// with two or more regular reviews, the share whose decisions all agree,
/// Krippendorff's alpha on the decisions (nominal) and on the weighted
/// scores (interval) — null when undefined (no such submission, or no
/// variation at all) — and how many needed a tiebreak.
///
/// Computed at most every `KARTEL_DASHBOARD_CACHE_SECONDS` (default 10)
/// per instance and filter; `generated_at` says when.
#[utoipa::path(
    tag = "reviews",
    operation_id = "get_review_metrics",
    security(("bearer" = [])),
    params(MetricsQuery),
    responses(
        (status = 200, description = "The figures, as of `generated_at`", body = ReviewMetrics),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/reviews/metrics")]
pub async fn get_review_metrics(
    st: State,
    allowed: Authorized<ViewReviewMetrics>,
    q: Query<MetricsQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner()?;
    let limit = Limit::parse(q.limit).map_err(|e| crate::error::ApiError::validation(vec![e]))?;
    let f = MetricsFilter::new(q.challenge_id, q.track, q.from, q.to, limit)?;
    Ok(HttpResponse::Ok().json(&*st.review_metrics.get(&st.db, &allowed, &f).await?))
}

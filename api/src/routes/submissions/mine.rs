//! GET /me/submissions.

use super::SubmissionQuery;
use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Submission, SubmissionFilter};

/// Your submissions, newest first.
///
/// Across every challenge, withdrawn ones included; filter by status.
#[utoipa::path(
    tag = "submissions",
    operation_id = "list_my_submissions",
    security(("bearer" = [])),
    params(PageQuery, SubmissionQuery),
    responses(
        (status = 200, description = "A page of your submissions", body = PageOf<Submission>),
        Unauthorized,
        InvalidQuery,
    )
)]
#[get("/me/submissions")]
pub async fn list_my_submissions(
    st: State,
    user: CurrentUser,
    page: Query<PageQuery>,
    q: Query<SubmissionQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let me = user.0.id;
    let caller = Caller::User(user.0);
    let f = SubmissionFilter {
        challenge: None,
        talent: Some(me),
        status: q.status,
    };
    let page = challenges::list_submissions(
        &st.db,
        Some(&caller),
        &f,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

//! GET /challenges/{id}/submissions.

use crate::error::ApiResult;
use crate::extractors::{MaybeUser, Query};
use crate::routes::responses::*;
use crate::routes::submissions::SubmissionQuery;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Submission, SubmissionFilter};
use uuid::Uuid;

/// A challenge's submissions, newest first.
///
/// Staff see all of them; a talent sees their own; once the challenge is
/// closed everyone (even without a token) sees all but withdrawn ones.
/// While it is judging, community managers and admins see others' work
/// blind (no `talent_id`; `author_alias`). A draft challenge is 404 except
/// to staff. A token that is sent must be
/// valid (401 otherwise).
#[utoipa::path(
    tag = "submissions",
    operation_id = "list_challenge_submissions",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge's id"), PageQuery, SubmissionQuery),
    responses(
        (status = 200, description = "A page of submissions", body = PageOf<Submission>),
        InvalidToken,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/challenges/{id}/submissions")]
pub async fn list_challenge_submissions(
    st: State,
    user: MaybeUser,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
    q: Query<SubmissionQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let caller = user.0.map(Caller::User);
    let f = SubmissionFilter {
        challenge: Some(*id),
        talent: None,
        status: q.status,
    };
    let page = challenges::list_submissions(
        &st.db,
        caller.as_ref(),
        &f,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

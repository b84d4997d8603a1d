//! GET /submissions/{id}/reviews.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, ReviewView};
use uuid::Uuid;

/// A submission's reviews, oldest first.
///
/// Every review, overturned ones included, each with the rubric version it
/// used and the seat it filled. To the submission's talent and to staff;
/// anyone else gets 404. While the challenge is judging, community
/// managers and admins read them blind (no `talent_id`; `author_alias`);
/// while a seat of the submission still waits for its review, staff see
/// only their own reviews of it (reviews stay independent).
#[utoipa::path(
    tag = "submissions",
    operation_id = "list_reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id"), PageQuery),
    responses(
        (status = 200, description = "A page of reviews", body = PageOf<ReviewView>),
        Unauthorized,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/submissions/{id}/reviews")]
pub async fn list_reviews(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let caller = Caller::User(user.0);
    let page =
        challenges::list_reviews(&st.db, &caller, *id, page.cursor.as_deref(), page.limit()?)
            .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

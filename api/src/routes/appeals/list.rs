//! GET /submissions/{id}/appeals.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Appeal};
use uuid::Uuid;

/// A submission's appeals and their answers, oldest first.
///
/// Each keeps the criterion's `initial_score` and, once answered, its
/// `final_score`. To the submission's talent and to staff; anyone else
/// gets 404.
#[utoipa::path(
    tag = "appeals",
    operation_id = "list_appeals",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id"), PageQuery),
    responses(
        (status = 200, description = "A page of appeals", body = PageOf<Appeal>),
        Unauthorized,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/submissions/{id}/appeals")]
pub async fn list_appeals(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let caller = Caller::User(user.0);
    let page =
        challenges::list_appeals(&st.db, &caller, *id, page.cursor.as_deref(), page.limit()?)
            .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

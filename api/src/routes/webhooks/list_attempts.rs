//! GET /webhooks/endpoints/{id}/attempts.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, Attempt};
use uuid::Uuid;

/// List the delivery attempts at a webhook endpoint, newest first (admin).
///
/// Each with its message, the answer's status (null when none came), the
/// latency, the answer's first 4 KiB, and what went wrong (a refused
/// address, a timeout, a connection error).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_attempts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id"), PageQuery),
    responses(
        (status = 200, description = "A page of attempts", body = PageOf<Attempt>),
        Unauthorized,
        Forbidden,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/webhooks/endpoints/{id}/attempts")]
pub async fn list_webhook_attempts(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let page =
        webhooks::attempts(&st.db, &allowed, *id, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

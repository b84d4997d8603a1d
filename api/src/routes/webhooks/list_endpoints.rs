//! GET /webhooks/endpoints.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, Endpoint};

/// List webhook endpoints (admin).
///
/// Every endpoint, oldest first, disabled ones included (with why); never
/// their secrets.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_endpoints",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of endpoints", body = PageOf<Endpoint>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/webhooks/endpoints")]
pub async fn list_webhook_endpoints(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    page: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let page = webhooks::list(&st.db, &allowed, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

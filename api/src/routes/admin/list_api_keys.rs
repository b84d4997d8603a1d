//! GET /admin/api-keys.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::api_keys::{self, ApiKey};
use kartel_domain::policy::ManageApiKeys;

/// List service API keys (admin).
///
/// Every key, revoked ones included, oldest first; never their secrets.
#[utoipa::path(
    tag = "admin",
    operation_id = "list_api_keys",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of keys", body = PageOf<ApiKey>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/admin/api-keys")]
pub async fn list_api_keys(
    st: State,
    allowed: Authorized<ManageApiKeys>,
    page: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let page = api_keys::list(&st.db, &allowed, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

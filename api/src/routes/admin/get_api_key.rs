//! GET /admin/api-keys/{id}.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::Authorized;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::api_keys::{self, ApiKey};
use kartel_domain::policy::ManageApiKeys;
use uuid::Uuid;

/// One service API key (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "get_api_key",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ApiKey),
        Forbidden,
        NotFound,
    )
)]
#[get("/admin/api-keys/{id}")]
pub async fn get_api_key(
    st: State,
    allowed: Authorized<ManageApiKeys>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(api_keys::get(&st.db, &allowed, *id).await?))
}

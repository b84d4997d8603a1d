//! GET /admin/api-keys/{id}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::api_keys::{self, ApiKey};
use kartel_domain::policy::ManageApiKeys;
use uuid::Uuid;

/// One service API key (admin).
///
/// The key's name, prefix, scopes and whether it is revoked; never its
/// secret.
#[utoipa::path(
    tag = "admin",
    operation_id = "get_api_key",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The key", body = ApiKey),
        Unauthorized,
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

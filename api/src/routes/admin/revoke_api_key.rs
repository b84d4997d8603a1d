//! DELETE /admin/api-keys/{id}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, delete, web};
use kartel_domain::api_keys::{self};
use kartel_domain::policy::ManageApiKeys;
use uuid::Uuid;

/// Revoke a service API key (admin).
///
/// The key stops working at once on this instance and within
/// `KARTEL_API_KEY_CACHE_SECONDS` (2 s by default) on the others. Revoking
/// a revoked key changes nothing and answers 204 again. Audited.
#[utoipa::path(
    tag = "admin",
    operation_id = "revoke_api_key",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[delete("/admin/api-keys/{id}")]
pub async fn revoke_api_key(
    st: State,
    allowed: Authorized<ManageApiKeys>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    api_keys::revoke(&st.db, &allowed, *id).await?;
    st.key_cache.forget(*id);
    Ok(HttpResponse::NoContent().finish())
}

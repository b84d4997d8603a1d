//! DELETE /webhooks/endpoints/{id}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, delete, web};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks;
use uuid::Uuid;

/// Delete a webhook endpoint (admin).
///
/// With its pending deliveries and its attempts' record; nothing more is
/// sent to it (an attempt in flight ends within its timeout). Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook_endpoint",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "Deleted"),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[delete("/webhooks/endpoints/{id}")]
pub async fn delete_webhook_endpoint(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    webhooks::delete(&st.db, &allowed, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

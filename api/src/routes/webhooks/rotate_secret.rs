//! POST /webhooks/endpoints/{id}/rotate-secret.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, EndpointWithSecret};
use uuid::Uuid;

/// Rotate a webhook endpoint's signing secret (admin).
///
/// The new secret is in this answer only. For 24 hours every delivery is
/// signed by both (`webhook-signature: v1,<new> v1,<old>`), so the receiver
/// can switch to the new one without a gap; then by the new one alone.
/// Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint, with its new secret", body = EndpointWithSecret),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[post("/webhooks/endpoints/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let rotated = webhooks::rotate_secret(&st.db, &allowed, *id).await?;
    Ok(HttpResponse::Ok().json(rotated))
}

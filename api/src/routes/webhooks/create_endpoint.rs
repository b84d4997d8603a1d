//! POST /webhooks/endpoints.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, EndpointSpec, EndpointWithSecret};

/// Register a webhook endpoint (admin).
///
/// Events of the kinds in `event_types` (all when empty) are POSTed to
/// `url` by the Standard Webhooks 1.0 spec: headers `webhook-id` (the
/// event's id, the same on every retry: deduplicate by it),
/// `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">` keyed by the secret's base64 after `whsec_`), body
/// `{type, timestamp, data}` with thin data (ids, statuses, amounts; see
/// the document's `webhooks`). The signing secret is in this answer only.
/// The URL must be https (http only where the operator allows it); an
/// address that is not public is refused (422 `url`, or at delivery time
/// for a name that resolves inward). Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook_endpoint",
    security(("bearer" = [])),
    request_body = EndpointSpec,
    responses(
        (status = 201, description = "The endpoint, with its signing secret", body = EndpointWithSecret),
        BadRequest,
        Unauthorized,
        Forbidden,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[post("/webhooks/endpoints")]
pub async fn create_webhook_endpoint(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    body: JsonBody<EndpointSpec>,
) -> ApiResult<HttpResponse> {
    let spec = body.into_inner()?;
    let created = webhooks::create(&st.db, &allowed, &spec, st.settings.webhook_reach()).await?;
    Ok(HttpResponse::Created().json(created))
}

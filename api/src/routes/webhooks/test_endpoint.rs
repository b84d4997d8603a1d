//! POST /webhooks/endpoints/{id}/test.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, TestSent};
use uuid::Uuid;

/// Send a test message to a webhook endpoint (admin).
///
/// A `webhook.test` message (`data: {endpoint_id}`), signed and delivered
/// like any other (retried too); its attempts show in `…/attempts`. A
/// disabled endpoint is 409 `endpoint_disabled`. Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "test_webhook_endpoint",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 202, description = "Queued", body = TestSent),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
    )
)]
#[post("/webhooks/endpoints/{id}/test")]
pub async fn test_webhook_endpoint(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let sent = webhooks::send_test(&st.db, &allowed, *id).await?;
    st.webhooks.poke();
    Ok(HttpResponse::Accepted().json(sent))
}

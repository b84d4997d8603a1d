//! POST /webhooks/messages/{id}/resend.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, Queued};
use uuid::Uuid;

/// Send a webhook message again (admin).
///
/// The message (its id is the event's, `webhook-id`) is queued again, with
/// a fresh retry schedule, to every enabled endpoint it was for, delivered
/// or not — except where an attempt is in flight. Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "resend_webhook_message",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message's id (the event's)")),
    responses(
        (status = 202, description = "How many deliveries were queued", body = Queued),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[post("/webhooks/messages/{id}/resend")]
pub async fn resend_webhook_message(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let queued = webhooks::resend(&st.db, &allowed, *id).await?;
    st.webhooks.poke();
    Ok(HttpResponse::Accepted().json(queued))
}

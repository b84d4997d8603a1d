//! PATCH /webhooks/endpoints/{id}.

use crate::error::ApiResult;
use crate::extractors::{Authorized, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, Endpoint, EndpointChange};
use uuid::Uuid;

/// Change a webhook endpoint (admin).
///
/// URL, description, event filter, or `disabled`. Disabling stops its
/// deliveries (pending ones wait); enabling resumes them and clears its
/// failure streak, and `POST …/recover` sends what it missed meanwhile.
/// Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "update_webhook_endpoint",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    request_body = EndpointChange,
    responses(
        (status = 200, description = "The endpoint as changed", body = Endpoint),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[patch("/webhooks/endpoints/{id}")]
pub async fn update_webhook_endpoint(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
    body: JsonBody<EndpointChange>,
) -> ApiResult<HttpResponse> {
    let change = body.into_inner()?;
    let e = webhooks::update(&st.db, &allowed, *id, &change, st.settings.webhook_reach()).await?;
    st.webhooks.poke();
    Ok(HttpResponse::Ok().json(e))
}

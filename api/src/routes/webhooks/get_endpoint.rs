//! GET /webhooks/endpoints/{id}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::policy::ManageWebhooks;
use kartel_domain::webhooks::{self, Endpoint};
use uuid::Uuid;

/// Read a webhook endpoint (admin).
///
/// Its URL, filter, whether and why it is disabled, since when its
/// attempts fail, and until when a rotated-out secret still signs.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook_endpoint",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = Endpoint),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[get("/webhooks/endpoints/{id}")]
pub async fn get_webhook_endpoint(
    st: State,
    allowed: Authorized<ManageWebhooks>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let e = webhooks::get(&st.db, &allowed, *id).await?;
    Ok(HttpResponse::Ok().json(e))
}

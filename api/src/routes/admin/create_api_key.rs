//! POST /admin/api-keys.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::extractors::JsonBody;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::api_keys::{self, CreatedApiKey};
use kartel_domain::policy::ManageApiKeys;
use kartel_domain::types::Scope;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// What the key is for: 1–80 characters, not only spaces.
    #[schema(
        example = "generation-service",
        min_length = 1,
        max_length = 80,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    /// At least one of the known scopes.
    #[schema(example = json!(["credits:hold"]), min_items = 1)]
    pub scopes: Vec<Scope>,
}

/// Create a service API key (admin).
///
/// For an internal service (the generation service…), which sends the
/// secret as `X-Api-Key`. The secret is in this answer only: it is stored
/// hashed and cannot be shown again. Scopes: `credits:hold` (hold, capture,
/// release, read holds), `credits:spend` (spend). Audited.
#[utoipa::path(
    tag = "admin",
    operation_id = "create_api_key",
    security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The new key, with its secret", body = CreatedApiKey),
        BadRequest,
        Unauthorized,
        Forbidden,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[post("/admin/api-keys")]
pub async fn create_api_key(
    st: State,
    allowed: Authorized<ManageApiKeys>,
    body: JsonBody<CreateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let scopes: Vec<String> = body.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let key = api_keys::create(&st.db, &allowed, &body.name, &scopes).await?;
    Ok(HttpResponse::Created().json(key))
}

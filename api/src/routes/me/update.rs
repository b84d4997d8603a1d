//! PATCH /me: profile fields only.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::extractors::JsonBody;
use crate::routes::responses::*;
use crate::routes::schemas::DisplayNameText;
use crate::state::State;
use actix_web::{HttpResponse, patch};
use kartel_domain::accounts::{self, Account, ProfileChange};
use serde::Deserialize;
use utoipa::ToSchema;

/// Profile fields you may change. Anything else (roles, status, tier,
/// credits…) is refused.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// A new display name; absent or null: unchanged.
    #[schema(value_type = Option<DisplayNameText>)]
    pub display_name: Option<String>,
    /// Up to 1000 characters, line breaks allowed; null or empty clears it,
    /// absent leaves it unchanged.
    #[serde(default, deserialize_with = "kartel_domain::types::nullable")]
    #[schema(
        value_type = Option<String>,
        max_length = 1000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$",
        example = "Illustrator and motion designer in Lisbon.\nI paint with light."
    )]
    pub bio: Option<Option<String>>,
    /// Replaces your portfolio links: up to 5 http(s) URLs; `[]` clears
    /// them, absent leaves them unchanged.
    #[schema(max_items = 5, example = json!(["https://portfolio.example.com/ana"]))]
    pub portfolio_links: Option<Vec<String>>,
}

/// Change your display name, bio or portfolio links.
///
/// A complete profile (display name, bio, one portfolio link) is what Tier 1
/// of every enrolled track needs: the change re-evaluates your tiers.
/// Send only the fields to change; `"bio": null` clears the bio. Roles,
/// status and everything else are not yours to change here: an unknown
/// field is a 422.
#[utoipa::path(
    tag = "me",
    operation_id = "update_me",
    security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "Your account as changed", body = Account),
        BadRequest,
        Unauthorized,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[patch("/me")]
pub async fn update_me(
    st: State,
    user: CurrentUser,
    body: JsonBody<UpdateMeRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let bio = body.bio.as_ref().map(Option::as_deref);
    let change = ProfileChange::parse(
        body.display_name.as_deref(),
        bio,
        body.portfolio_links.as_deref(),
    )?;
    Ok(HttpResponse::Ok().json(accounts::update_profile(&st.db, &user.0, change).await?))
}

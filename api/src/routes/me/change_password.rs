//! POST /me/password.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::extractors::JsonBody;
use crate::routes::responses::*;
use crate::routes::schemas::NewPassword;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::accounts::{self};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// Your password now; a wrong one is refused (422).
    #[schema(example = "correct horse battery staple")]
    pub current_password: String,
    /// 10–128 characters.
    #[schema(value_type = NewPassword)]
    pub new_password: String,
}

/// Change your password.
///
/// Needs the current password (a wrong one is a 422 naming
/// `current_password`). Every other session of yours ends; this one goes on.
#[utoipa::path(
    tag = "me",
    operation_id = "change_password",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        BadRequest,
        Unauthorized,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[post("/me/password")]
pub async fn change_password(
    st: State,
    user: CurrentUser,
    body: JsonBody<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    accounts::change_password(&st.db, &user.0, &body.current_password, &body.new_password).await?;
    st.sessions.revoked(user.0.id).await;
    Ok(HttpResponse::NoContent().finish())
}

//! DELETE /me: erase one's own account.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, delete};
use kartel_domain::accounts;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseMeRequest {
    /// Your password, to confirm (a wrong one is 422 naming `password`).
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

/// Erase your account.
///
/// Final. Your email, handle, names, bio, links and the asset URLs of your
/// submissions are removed or replaced by a pseudonym everywhere; every
/// session ends, pending mail is dropped, certificates are revoked, a pod
/// slot you fill is freed and pending nominations are withdrawn. What others
/// rely on stays, pointing at the pseudonym: the credit books, reviews,
/// tier history and the audit log. The address can register again as a new
/// person. Export your data first (`export_my_data`) if you want it.
#[utoipa::path(
    tag = "me",
    operation_id = "erase_me",
    security(("bearer" = [])),
    request_body = EraseMeRequest,
    responses(
        (status = 204, description = "Erased"),
        BadRequest,
        Unauthorized,
        PayloadTooLarge,
        NotFound,
        UnsupportedMediaType,
        InvalidPassword,
    )
)]
#[delete("/me")]
pub async fn erase_me(
    st: State,
    user: CurrentUser,
    body: JsonBody<EraseMeRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let erased = accounts::erase_self(&st.db, &user.0, &body.password).await?;
    crate::routes::forget_erased(&st, &erased).await;
    Ok(HttpResponse::NoContent().finish())
}

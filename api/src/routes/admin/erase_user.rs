//! DELETE /admin/users/{id}: erase someone (admin).

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, delete, web};
use kartel_domain::accounts;
use kartel_domain::policy::ManageUsers;
use uuid::Uuid;

/// Erase a person (admin).
///
/// Final, as `erase_me` describes: identifying data is removed or replaced
/// by a pseudonym everywhere, sessions end, certificates are revoked, a pod
/// slot is freed; the books, reviews, tier history and audit log stay.
/// Audited. An unknown or already erased person is 404.
#[utoipa::path(
    tag = "admin",
    operation_id = "erase_user",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The person's id")),
    responses(
        (status = 204, description = "Erased"),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[delete("/admin/users/{id}")]
pub async fn erase_user(
    st: State,
    allowed: Authorized<ManageUsers>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let erased = accounts::erase_user(&st.db, &allowed, id.into_inner()).await?;
    crate::routes::forget_erased(&st, &erased).await;
    Ok(HttpResponse::NoContent().finish())
}

//! GET /me/export: everything the service holds about the caller.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::accounts::{self, PersonalData};

/// Export your data.
///
/// One JSON document with everything the service holds about you: the
/// account and profile, tracks and tier history, certificates, nominations,
/// submissions and the reviews they received, credit balance, transactions
/// and holds, and your sign-in sessions. Nobody else's data is in it.
#[utoipa::path(
    tag = "me",
    operation_id = "export_my_data",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your data", body = PersonalData),
        Unauthorized,
    )
)]
#[get("/me/export")]
pub async fn export_my_data(st: State, user: CurrentUser) -> ApiResult<HttpResponse> {
    let data = accounts::export(&st.db, &user.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"kartel-export.json\"",
        ))
        .json(data))
}

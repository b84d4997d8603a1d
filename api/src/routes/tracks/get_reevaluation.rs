//! GET /tracks/{track}/reevaluations/{id}.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::policy::SearchTalents;
use kartel_domain::tiers::{self, Reevaluation};
use kartel_domain::types::Track;
use uuid::Uuid;

/// How far a re-evaluation after a requirements change has come (staff).
///
/// `running` while batches remain; `done` with how many talents were
/// evaluated and how many moved; `superseded` when a newer change of the
/// track's requirements took over.
#[utoipa::path(
    tag = "tiers",
    operation_id = "get_reevaluation",
    security(("bearer" = [])),
    params(
        ("track" = Track, Path, description = "The track"),
        ("id" = Uuid, Path, description = "The re-evaluation's id"),
    ),
    responses(
        (status = 200, description = "The re-evaluation", body = Reevaluation),
        Unauthorized,
        Forbidden,
        NotFound,
    )
)]
#[get("/tracks/{track}/reevaluations/{id}")]
pub async fn get_reevaluation(
    st: State,
    _allowed: Authorized<SearchTalents>,
    path: web::Path<(Track, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (track, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(tiers::get_reevaluation(&st.db, track, id).await?))
}

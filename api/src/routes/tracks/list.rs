//! GET /tracks.

use crate::error::ApiResult;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::tiers::{self, TrackInfo};
use serde::Serialize;
use utoipa::ToSchema;

/// All five tracks (a fixed set: one page).
#[derive(Serialize, ToSchema)]
pub struct TrackList {
    pub items: Vec<TrackInfo>,
}

/// The role tracks with their tier requirements and playbooks (anyone).
///
/// For each track: the requirements of Tiers 1–3 (`{tier, key, target}`;
/// a tier is reached automatically when its requirements and those of the
/// tiers below hold), the playbook certifications cite, and how long a
/// tier is kept after its requirements stop holding.
#[utoipa::path(
    tag = "tiers",
    operation_id = "list_tracks",
    security(()),
    responses((status = 200, description = "Every track", body = TrackList))
)]
#[get("/tracks")]
pub async fn list_tracks(st: State) -> ApiResult<HttpResponse> {
    let items = tiers::list_tracks(&st.db).await?;
    Ok(HttpResponse::Ok().json(TrackList { items }))
}

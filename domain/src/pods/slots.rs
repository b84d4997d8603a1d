//! Role slots: one role of a track in a pod, open or filled; and the open
//! roles across pods.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PodStatus, Slot, lock_pod, pod_row};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{Allowed, ManagePods, ViewTalentEngine};
use crate::types::{Limit, Track};
use crate::{audit, new_id, now};

/// A new slot: one role of `track`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    pub track: Track,
}

pub async fn add_slot(
    db: &DatabaseConnection,
    allowed: &Allowed<ManagePods>,
    idem: Option<&Idempotency>,
    pod: Uuid,
    spec: SlotSpec,
) -> Result<Slot> {
    idempotency::run_optional(
        db,
        idem,
        "pod.slot_add",
        &serde_json::json!({ "pod": pod, "slot": spec }),
        async |tx| {
            lock_pod(tx, pod).await?;
            let p = pod_row(tx, pod).await?;
            if p.status == PodStatus::Closed {
                return Err(DomainError::PodClosed("closed"));
            }
            let (id, at) = (new_id(), now());
            db::execute(
            tx,
            "INSERT INTO pod_slots (id, pod_id, track, status, talent_id, filled_at, created_at) \
             VALUES ($1, $2, $3, 'open', NULL, NULL, $4)",
            [id.into(), pod.into(), spec.track.into(), at.into()],
        )
        .await?;
            let slot = find_slot(tx, pod, id).await?;
            audit::record(
                tx,
                allowed.caller().actor(),
                "pod.slot_add",
                "pod",
                Some(pod.to_string()),
                None,
                Some(audit::json(&slot)),
            )
            .await?;
            Ok(slot)
        },
    )
    .await
}

/// A slot's columns as [`Slot`] reads them (from [`SLOT_FROM`]): whether
/// its talent is suspended comes from the talent's account.
pub(crate) const SLOT_COLUMNS: &str = "s.id, s.pod_id, s.track, s.status, s.talent_id, s.filled_at, s.created_at, \
     COALESCE(u.status = 'suspended', FALSE) AS suspended";
pub(crate) const SLOT_FROM: &str = "pod_slots s LEFT JOIN users u ON u.id = s.talent_id";

pub(crate) async fn find_slot<C: ConnectionTrait>(db: &C, pod: Uuid, id: Uuid) -> Result<Slot> {
    db::fetch_one(
        db,
        &format!("SELECT {SLOT_COLUMNS} FROM {SLOT_FROM} WHERE s.id = $1 AND s.pod_id = $2"),
        [id.into(), pod.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("slot"))
}

/// A slot of any pod.
pub(crate) async fn slot_by_id<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Slot>> {
    Ok(db::fetch_one(
        db,
        &format!("SELECT {SLOT_COLUMNS} FROM {SLOT_FROM} WHERE s.id = $1"),
        [id.into()],
    )
    .await?)
}

/// An open slot, with its pod's name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct OpenRole {
    pub slot_id: Uuid,
    pub pod_id: Uuid,
    pub pod_name: String,
    pub pod_status: PodStatus,
    pub track: Track,
    pub created_at: DateTime<Utc>,
}

/// Open slots across pods that are not closed, oldest first (staff).
pub async fn open_roles(
    db: &DatabaseConnection,
    _allowed: &Allowed<ViewTalentEngine>,
    track: Option<Track>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<OpenRole>> {
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new(
        "SELECT s.id AS slot_id, s.pod_id, p.name AS pod_name, p.status AS pod_status, s.track, s.created_at \
         FROM pod_slots s JOIN pods p ON p.id = s.pod_id WHERE s.status = 'open' AND p.status <> 'closed'",
    );
    if let Some(t) = track {
        let p = b.bind(t);
        b.push(&format!(" AND s.track = {p}"));
    }
    if let Some(a) = after {
        let p = b.bind(a);
        b.push(&format!(" AND s.id > {p}"));
    }
    b.push(&format!(" ORDER BY s.id LIMIT {}", limit.get() + 1));
    let rows: Vec<OpenRole> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(Page::from_rows(rows, limit.get(), |r: &OpenRole| {
        r.slot_id.to_string()
    }))
}

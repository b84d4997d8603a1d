//! Pods: the teams client work is delivered by. The generative lead keeps
//! them — status, client capacity, engagements (a guarded counter keeps
//! the open ones within capacity), role slots per track — and places Tier 5
//! talent in the slots (`placement`). Nominations carry Tier 4 talent to
//! Tier 5 (`nominations`); the talent-engine dashboard measures it all with
//! aggregate queries (`dashboard`) against the yearly targets (`targets`).

mod dashboard;
mod engagements;
mod nominations;
mod placement;
mod slots;
mod targets;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DeriveActiveEnum, EnumIter, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use dashboard::{
    Dashboard, FunnelStage, OpenRoleCount, PodLoad, TierCount, TrackBulkRunRow, talent_engine,
    talent_engine_at,
};
pub use engagements::{EngagementSpec, add_engagement, end_engagement};
pub use nominations::{
    AcceptSpec, DeclineSpec, Nomination, NominationDetail, NominationFilter, NominationSpec,
    NominationStatus, accept, decline, expire_nominations, get_nomination, list_nominations,
    nominate, nominations_of,
};
pub use placement::{BenchEntry, assign, bench, react, unassign};
pub use slots::{OpenRole, SlotSpec, add_slot, open_roles};
pub(crate) use slots::{SLOT_COLUMNS, SLOT_FROM, find_slot, slot_by_id};
pub use targets::{Pace, PaceStatus, TargetsSpec, YearlyTargets, pace, set_targets};

use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{Allowed, ManagePods, ViewTalentEngine};
use crate::types::{Limit, Text, Track, Validator};
use crate::{audit, new_id, now};

/// Where a pod is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum PodStatus {
    Forming,
    Active,
    Paused,
    Closed,
}

impl PodStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forming => "forming",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Closed => "closed",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum SlotStatus {
    Open,
    Filled,
}

/// One role in a pod: a track, open or filled by a Tier 5 talent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct Slot {
    pub id: Uuid,
    pub pod_id: Uuid,
    pub track: Track,
    pub status: SlotStatus,
    #[schema(required = true)]
    pub talent_id: Option<Uuid>,
    #[schema(required = true)]
    pub filled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The talent in the slot is suspended: still placed (the slot stays
    /// filled), but not counted as deployed nor as staffing the role.
    pub suspended: bool,
}

/// A client engagement the pod carries (open while `ended_at` is null).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct Engagement {
    pub id: Uuid,
    pub pod_id: Uuid,
    pub client_name: String,
    pub started_at: DateTime<Utc>,
    #[schema(required = true)]
    pub ended_at: Option<DateTime<Utc>>,
}

/// The tracks a complete pod has at least one filled slot of, held by a
/// talent who is not suspended (a data engineer is optional).
pub const CORE_TRACKS: [Track; 4] = [
    Track::WorkflowEngineer,
    Track::AiGeneralist,
    Track::Preditor,
    Track::DataLoraSpecialist,
];

#[derive(Debug, Clone, FromQueryResult)]
struct PodRow {
    id: Uuid,
    name: String,
    status: PodStatus,
    client_capacity: i32,
    active_engagements: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A pod with its slots and open engagements.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Pod {
    pub id: Uuid,
    pub name: String,
    pub status: PodStatus,
    /// How many concurrent client engagements it can carry.
    pub client_capacity: i32,
    /// Engagements open now.
    pub active_engagements: i32,
    /// The most engagements it carried at once, from its records.
    pub peak_concurrent_engagements: i64,
    /// At least one filled slot of each core track.
    pub complete: bool,
    /// Core tracks without a filled slot.
    pub missing_roles: Vec<Track>,
    pub slots: Vec<Slot>,
    pub open_engagements: Vec<Engagement>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The missing core tracks among `slots`.
pub(crate) fn missing_roles<'a>(
    slots: impl Iterator<Item = (&'a Track, bool)> + Clone,
) -> Vec<Track> {
    CORE_TRACKS
        .into_iter()
        .filter(|t| !slots.clone().any(|(s, filled)| s == t && filled))
        .collect()
}

#[derive(FromQueryResult)]
struct Peak {
    pod_id: Uuid,
    peak: i64,
}

/// The peak concurrency each pod carried (of `pods`, or of every pod): a
/// sweep over its engagements' starts (+1) and ends (−1) in time order, an
/// end before a start at the same instant; the peak is the running sum's
/// maximum. Linear in the engagements, not quadratic.
pub(crate) async fn peaks<C: ConnectionTrait>(
    db: &C,
    pods: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, i64>> {
    let mut b = SqlBuilder::new("");
    let filter = match pods {
        Some([]) => return Ok(HashMap::new()),
        Some(ids) => {
            let ps: Vec<String> = ids.iter().map(|id| b.bind(*id)).collect();
            format!(" AND pod_id IN ({})", ps.join(", "))
        }
        None => String::new(),
    };
    b.push(&format!(
        "SELECT pod_id, CAST(MAX(open_now) AS BIGINT) AS peak FROM (\
           SELECT pod_id, SUM(d) OVER (PARTITION BY pod_id ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS open_now FROM (\
             SELECT pod_id, started_at AS t, 1 AS d FROM engagements WHERE 1 = 1{filter} \
             UNION ALL \
             SELECT pod_id, ended_at AS t, -1 AS d FROM engagements WHERE ended_at IS NOT NULL{filter}\
           ) ev\
         ) x GROUP BY pod_id"
    ));
    let rows: Vec<Peak> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(rows.into_iter().map(|p| (p.pod_id, p.peak)).collect())
}

async fn assemble<C: ConnectionTrait>(db: &C, rows: Vec<PodRow>) -> Result<Vec<Pod>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let in_list = |b: &mut SqlBuilder| {
        let ps: Vec<String> = ids.iter().map(|id| b.bind(*id)).collect();
        ps.join(", ")
    };
    let mut b = SqlBuilder::new(&format!(
        "SELECT {SLOT_COLUMNS} FROM {SLOT_FROM} WHERE s.pod_id IN ("
    ));
    let list = in_list(&mut b);
    b.push(&format!("{list}) ORDER BY s.created_at, s.id"));
    let slots: Vec<Slot> = db::fetch_all(db, &b.sql, b.values).await?;
    let mut b = SqlBuilder::new(
        "SELECT id, pod_id, client_name, started_at, ended_at FROM engagements WHERE ended_at IS NULL AND pod_id IN (",
    );
    let list = in_list(&mut b);
    b.push(&format!("{list}) ORDER BY started_at, id"));
    let open: Vec<Engagement> = db::fetch_all(db, &b.sql, b.values).await?;
    let peaks = peaks(db, Some(&ids)).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let slots: Vec<Slot> = slots.iter().filter(|s| s.pod_id == r.id).cloned().collect();
            let missing = missing_roles(
                slots
                    .iter()
                    .map(|s| (&s.track, s.status == SlotStatus::Filled && !s.suspended)),
            );
            Pod {
                id: r.id,
                name: r.name,
                status: r.status,
                client_capacity: r.client_capacity,
                active_engagements: r.active_engagements,
                peak_concurrent_engagements: peaks.get(&r.id).copied().unwrap_or(0),
                complete: missing.is_empty(),
                missing_roles: missing,
                open_engagements: open.iter().filter(|e| e.pod_id == r.id).cloned().collect(),
                slots,
                created_at: r.created_at,
                updated_at: r.updated_at,
            }
        })
        .collect())
}

/// Serialises what depends on a pod's status (closing it, adding a slot,
/// placing a talent): on PostgreSQL a lock on its row; SQLite serialises
/// writers anyway.
pub(crate) async fn lock_pod<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<()> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db::execute(
            db,
            "SELECT id FROM pods WHERE id = $1 FOR UPDATE",
            [id.into()],
        )
        .await?;
    }
    Ok(())
}

async fn pod_row<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<PodRow> {
    db::fetch_one(db, "SELECT * FROM pods WHERE id = $1", [id.into()])
        .await?
        .ok_or(DomainError::NotFound("pod"))
}

pub async fn get_pod<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Pod> {
    let row = pod_row(db, id).await?;
    assemble(db, vec![row])
        .await?
        .pop()
        .ok_or_else(|| DomainError::bug("a pod read is missing"))
}

/// Pods in creation order, optionally of one status (staff).
pub async fn list_pods(
    db: &DatabaseConnection,
    _allowed: &Allowed<ViewTalentEngine>,
    status: Option<PodStatus>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Pod>> {
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM pods WHERE 1 = 1");
    if let Some(s) = status {
        let p = b.bind(s);
        b.push(&format!(" AND status = {p}"));
    }
    if let Some(a) = after {
        let p = b.bind(a);
        b.push(&format!(" AND id > {p}"));
    }
    b.push(&format!(" ORDER BY id LIMIT {}", limit.get() + 1));
    let rows: Vec<PodRow> = db::fetch_all(db, &b.sql, b.values).await?;
    let pods = assemble(db, rows).await?;
    Ok(Page::from_rows(pods, limit.get(), |p: &Pod| {
        p.id.to_string()
    }))
}

/// A new pod as the lead sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PodSpec {
    #[schema(example = "Pod Aurora")]
    pub name: String,
    /// 0–1,000 concurrent client engagements.
    #[schema(minimum = 0, maximum = 1000, example = 3)]
    pub client_capacity: i64,
    /// Default `forming`.
    #[serde(default)]
    pub status: Option<PodStatus>,
}

/// A change of a pod: name, capacity (not below its open engagements) or
/// status (a closed pod stays closed).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PodChange {
    pub name: Option<String>,
    #[schema(minimum = 0, maximum = 1000)]
    pub client_capacity: Option<i64>,
    pub status: Option<PodStatus>,
}

fn capacity(v: &mut Validator, raw: i64) -> Option<i32> {
    let ok = i32::try_from(raw).ok().filter(|c| (0..=1000).contains(c));
    if ok.is_none() {
        v.push(crate::FieldError::new("client_capacity", "must be 0–1,000"));
    }
    ok
}

pub async fn create_pod(
    db: &DatabaseConnection,
    allowed: &Allowed<ManagePods>,
    idem: Option<&Idempotency>,
    spec: PodSpec,
) -> Result<Pod> {
    let mut v = Validator::default();
    let name = v.check(Text::parse("name", &spec.name, 1, 120));
    let cap = capacity(&mut v, spec.client_capacity);
    let (name, cap) = v.finish_with(|| Some((name?, cap?)))?;
    let status = spec.status.unwrap_or(PodStatus::Forming);
    idempotency::run_optional(db, idem, "pod.create", &spec, async |tx| {
        let (id, at) = (new_id(), now());
        db::execute(
            tx,
            "INSERT INTO pods (id, name, status, client_capacity, active_engagements, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $6)",
            [id.into(), name.as_str().into(), status.into(), cap.into(), allowed.caller().user_id().into(), at.into()],
        )
        .await?;
        let pod = get_pod(tx, id).await?;
        audit::record(
            tx,
            allowed.caller().actor(),
            "pod.create",
            "pod",
            Some(id.to_string()),
            None,
            Some(audit::json(&pod)),
        )
        .await?;
        Ok(pod)
    })
    .await
}

pub async fn update_pod(
    db: &DatabaseConnection,
    allowed: &Allowed<ManagePods>,
    id: Uuid,
    change: PodChange,
) -> Result<Pod> {
    let mut v = Validator::default();
    let name = change
        .name
        .as_deref()
        .and_then(|n| v.check(Text::parse("name", n, 1, 120)));
    let cap = change.client_capacity.and_then(|c| capacity(&mut v, c));
    v.finish()?;
    let tx = db::begin_write(db).await?;
    lock_pod(&tx, id).await?;
    let before = get_pod(&tx, id).await?;
    if before.status == PodStatus::Closed && change.status.is_some_and(|s| s != PodStatus::Closed) {
        return Err(DomainError::PodClosed("closed"));
    }
    if change.status == Some(PodStatus::Closed)
        && before.slots.iter().any(|s| s.status == SlotStatus::Filled)
    {
        return Err(DomainError::PodHasPlacements);
    }
    let mut b = SqlBuilder::new("UPDATE pods SET updated_at = ");
    let p = b.bind(now());
    b.push(&p);
    if let Some(name) = name {
        let p = b.bind(name.into_string());
        b.push(&format!(", name = {p}"));
    }
    if let Some(cap) = cap {
        let p = b.bind(cap);
        b.push(&format!(", client_capacity = {p}"));
    }
    if let Some(s) = change.status {
        let p = b.bind(s);
        b.push(&format!(", status = {p}"));
    }
    let p = b.bind(id);
    b.push(&format!(" WHERE id = {p}"));
    if let Some(cap) = cap {
        // Never below the engagements it carries now (guarded).
        let p = b.bind(cap);
        b.push(&format!(" AND active_engagements <= {p}"));
    }
    if db::execute(&tx, &b.sql, b.values).await? == 0 {
        return Err(DomainError::field(
            "client_capacity",
            &format!(
                "must be at least the open engagements ({})",
                before.active_engagements
            ),
        ));
    }
    let after = get_pod(&tx, id).await?;
    audit::record(
        &tx,
        allowed.caller().actor(),
        "pod.update",
        "pod",
        Some(id.to_string()),
        Some(audit::json(&before)),
        Some(audit::json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

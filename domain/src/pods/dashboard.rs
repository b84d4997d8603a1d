//! The talent-engine dashboard: talents per tier and track, the funnel and
//! its conversion this year, nominations waiting, open roles, Tier 5
//! deployed against the yearly target and its pace, each pod's load,
//! completeness and peak concurrency, bulk-run success per track, and the
//! attention list. Each figure is one aggregate query; nothing is loaded
//! row by row. Suspended and erased people are not counted as deployed or
//! placed, and a role a suspended talent holds is not staffed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::targets::{Pace, YearlyTargets, pace, targets_of};
use super::{PodStatus, missing_roles, peaks};
use crate::challenges::BulkRun;
use crate::db;
use crate::error::{DomainError, Result};
use crate::now;
use crate::policy::{Allowed, ViewTalentEngine};
use crate::tiers::{self, AttentionItem};
use crate::types::Track;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct TierCount {
    pub track: Track,
    pub tier: i16,
    pub talents: i64,
}

/// One stage of the funnel: everyone registered, then everyone whose
/// headline tier reached 1, 2, … 5.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FunnelStage {
    /// `registered`, `tier_1` … `tier_5`.
    pub stage: String,
    /// Talents at this stage or beyond, now.
    pub talents: i64,
    /// Talents who registered / first reached this tier this year.
    pub this_year: i64,
    /// `this_year` of this stage over that of the one before; null for
    /// `registered` or when the one before is 0.
    #[schema(required = true)]
    pub conversion_this_year: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct OpenRoleCount {
    pub pod_id: Uuid,
    pub pod_name: String,
    pub track: Track,
    pub open_slots: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PodLoad {
    pub pod_id: Uuid,
    pub name: String,
    pub status: PodStatus,
    pub client_capacity: i32,
    pub active_engagements: i32,
    /// The most engagements it ever carried at once (the studio's "how
    /// many concurrent clients can one pod serve").
    pub peak_concurrent_engagements: i64,
    /// Every core role filled by a talent who is not suspended.
    pub complete: bool,
    pub missing_roles: Vec<Track>,
    /// Filled slots whose talent is suspended (still placed, not deployed).
    pub suspended_placements: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackBulkRunRow {
    /// Null: challenges without a track.
    #[schema(required = true)]
    pub track: Option<Track>,
    #[serde(flatten)]
    pub bulk_run: BulkRun,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dashboard {
    pub generated_at: DateTime<Utc>,
    /// Talents per track and tier (tiers with none are absent).
    pub tiers: Vec<TierCount>,
    pub funnel: Vec<FunnelStage>,
    /// Pending nominations not yet expired.
    pub nominations_waiting: i64,
    /// Age of the oldest waiting nomination, in seconds.
    #[schema(required = true)]
    pub oldest_nomination_age_seconds: Option<i64>,
    pub open_roles: Vec<OpenRoleCount>,
    /// Talents deployed this year: accepted into a pod slot (Tier 4 → 5)
    /// since 1 January and not suspended or erased since — what the yearly
    /// target and the pace count.
    pub tier5_deployed: i64,
    /// Tier 5 talents in a slot of a pod that is not closed, now, whose
    /// account is active (suspended ones are in `tier5_placed_suspended`).
    pub tier5_placed_now: i64,
    /// Talents in a slot of a pod that is not closed whose account is
    /// suspended: placed, not deployed.
    pub tier5_placed_suspended: i64,
    pub tier5_target: i64,
    pub targets: YearlyTargets,
    pub pace: Pace,
    pub pods: Vec<PodLoad>,
    pub bulk_run: Vec<TrackBulkRunRow>,
    /// Talents an admin must look at, oldest first (up to 100): a Tier 5
    /// whose certificate's evidence was overturned with nothing else to
    /// stand on (`evidence_overturned`). An entry clears when the
    /// certificate is revoked (a demotion below Tier 4), when the evidence
    /// is accepted again, or when other evidence is accepted (the
    /// certificate is then re-issued on it).
    pub attention: Vec<AttentionItem>,
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

#[derive(FromQueryResult)]
struct TierN {
    tier: i16,
    n: i64,
}

#[derive(FromQueryResult)]
struct Waiting {
    n: i64,
    oldest: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct PodRow {
    id: Uuid,
    name: String,
    status: PodStatus,
    client_capacity: i32,
    active_engagements: i32,
}

#[derive(FromQueryResult)]
struct Filled {
    pod_id: Uuid,
    track: Track,
    suspended: bool,
    n: i64,
}

#[derive(FromQueryResult)]
struct BulkRow {
    track: Option<Track>,
    reviewed: i64,
    successful: i64,
}

async fn count(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> Result<i64> {
    Ok(db::fetch_one::<Count, _>(db, sql, values)
        .await?
        .map_or(0, |c| c.n))
}

pub async fn talent_engine(
    db: &DatabaseConnection,
    allowed: &Allowed<ViewTalentEngine>,
) -> Result<Dashboard> {
    talent_engine_at(db, allowed, now()).await
}

/// The dashboard as of `at` (the clock injected: "this year" and the pace
/// are `at`'s; the figures are the database's now).
pub async fn talent_engine_at(
    db: &DatabaseConnection,
    _allowed: &Allowed<ViewTalentEngine>,
    at: DateTime<Utc>,
) -> Result<Dashboard> {
    let year = at.year();
    let year_start = Utc
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .single()
        .ok_or_else(|| DomainError::bug("no start of the year"))?;
    let tiers: Vec<TierCount> = db::fetch_all(
        db,
        "SELECT track, tier, CAST(COUNT(*) AS BIGINT) AS talents FROM talent_tracks GROUP BY track, tier ORDER BY track, tier",
        [],
    )
    .await?;
    let funnel = funnel(db, year_start).await?;
    let (nominations_waiting, oldest) = waiting_nominations(db, at).await?;
    // Suspended and erased people are not deployed, whenever they were.
    let tier5_deployed = count(
        db,
        "SELECT CAST(COUNT(DISTINCT c.talent_id) AS BIGINT) AS n FROM tier_changes c \
         JOIN users u ON u.id = c.talent_id \
         WHERE c.from_tier = 4 AND c.to_tier = 5 AND c.created_at >= $1 AND c.created_at <= $2 \
           AND u.status = 'active'",
        vec![year_start.into(), at.into()],
    )
    .await?;
    let placed = |status: &'static str| {
        count(
            db,
            "SELECT CAST(COUNT(DISTINCT s.talent_id) AS BIGINT) AS n FROM pod_slots s JOIN pods p ON p.id = s.pod_id \
             JOIN users u ON u.id = s.talent_id \
             WHERE s.status = 'filled' AND p.status <> 'closed' AND u.status = $1",
            vec![status.into()],
        )
    };
    let tier5_placed_now = placed("active").await?;
    let tier5_placed_suspended = placed("suspended").await?;
    let pods = pod_loads(db).await?;
    let targets = targets_of(db, year).await?;
    Ok(Dashboard {
        generated_at: at,
        tiers,
        funnel,
        nominations_waiting,
        oldest_nomination_age_seconds: oldest.map(|o| (at - o).num_seconds()),
        open_roles: open_roles(db).await?,
        tier5_deployed,
        tier5_placed_now,
        tier5_placed_suspended,
        tier5_target: targets.tier5_target,
        pace: pace(tier5_deployed, &targets, at),
        targets,
        pods,
        bulk_run: bulk_run_by_track(db).await?,
        attention: tiers::attention_list(db, 100).await?,
    })
}

/// Pending nominations at `at`: how many, and since when the oldest waits.
async fn waiting_nominations(
    db: &DatabaseConnection,
    at: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>)> {
    let waiting: Option<Waiting> = db::fetch_one(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MIN(created_at) AS oldest FROM nominations \
         WHERE status = 'pending' AND expires_at > $1",
        [at.into()],
    )
    .await?;
    Ok(waiting.map_or((0, None), |w| (w.n, w.oldest)))
}

/// Open slots of pods that are not closed, per pod and track.
async fn open_roles(db: &DatabaseConnection) -> Result<Vec<OpenRoleCount>> {
    Ok(db::fetch_all(
        db,
        "SELECT s.pod_id, p.name AS pod_name, s.track, CAST(COUNT(*) AS BIGINT) AS open_slots \
         FROM pod_slots s JOIN pods p ON p.id = s.pod_id WHERE s.status = 'open' AND p.status <> 'closed' \
         GROUP BY s.pod_id, p.name, s.track ORDER BY p.name, s.pod_id, s.track",
        [],
    )
    .await?)
}

/// The funnel: headline tiers now; registrations and first arrivals since
/// `year_start`, with each stage's conversion from the one before.
async fn funnel(db: &DatabaseConnection, year_start: DateTime<Utc>) -> Result<Vec<FunnelStage>> {
    let headline: Vec<TierN> = db::fetch_all(
        db,
        "SELECT tier, CAST(COUNT(*) AS BIGINT) AS n FROM \
           (SELECT talent_id, MAX(tier) AS tier FROM talent_tracks GROUP BY talent_id) h GROUP BY tier",
        [],
    )
    .await?;
    let reached: Vec<TierN> = db::fetch_all(
        db,
        "SELECT to_tier AS tier, CAST(COUNT(DISTINCT talent_id) AS BIGINT) AS n FROM tier_changes \
         WHERE to_tier > from_tier AND created_at >= $1 GROUP BY to_tier",
        [year_start.into()],
    )
    .await?;
    let registered = count(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users",
        vec![],
    )
    .await?;
    let registered_this_year = count(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users WHERE created_at >= $1",
        vec![year_start.into()],
    )
    .await?;
    let mut funnel = vec![FunnelStage {
        stage: "registered".into(),
        talents: registered,
        this_year: registered_this_year,
        conversion_this_year: None,
    }];
    for k in 1..=5i16 {
        let talents = headline.iter().filter(|h| h.tier >= k).map(|h| h.n).sum();
        let this_year = reached.iter().find(|r| r.tier == k).map_or(0, |r| r.n);
        let before = funnel.last().map_or(0, |s| s.this_year);
        funnel.push(FunnelStage {
            stage: format!("tier_{k}"),
            talents,
            this_year,
            conversion_this_year: (before > 0).then(|| this_year as f64 / before as f64),
        });
    }
    Ok(funnel)
}

/// Each pod's load and staffing (a role held by a suspended talent is not
/// staffed).
async fn pod_loads(db: &DatabaseConnection) -> Result<Vec<PodLoad>> {
    let pod_rows: Vec<PodRow> = db::fetch_all(
        db,
        "SELECT id, name, status, client_capacity, active_engagements FROM pods ORDER BY name, id",
        [],
    )
    .await?;
    let filled: Vec<Filled> = db::fetch_all(
        db,
        "SELECT s.pod_id, s.track, u.status = 'suspended' AS suspended, CAST(COUNT(*) AS BIGINT) AS n \
         FROM pod_slots s JOIN users u ON u.id = s.talent_id WHERE s.status = 'filled' \
         GROUP BY s.pod_id, s.track, u.status",
        [],
    )
    .await?;
    // A role held by a suspended talent is not staffed.
    let mut filled_by_pod: HashMap<Uuid, (Vec<Track>, i64)> = HashMap::new();
    for f in filled {
        let pod = filled_by_pod.entry(f.pod_id).or_default();
        if f.suspended {
            pod.1 += f.n;
        } else {
            pod.0.push(f.track);
        }
    }
    let peak = peaks(db, None).await?;
    let pods: Vec<PodLoad> = pod_rows
        .into_iter()
        .map(|p| {
            let (tracks, suspended) = filled_by_pod.remove(&p.id).unwrap_or_default();
            let missing = missing_roles(tracks.iter().map(|t| (t, true)));
            PodLoad {
                pod_id: p.id,
                name: p.name,
                status: p.status,
                client_capacity: p.client_capacity,
                active_engagements: p.active_engagements,
                peak_concurrent_engagements: peak.get(&p.id).copied().unwrap_or(0),
                complete: missing.is_empty(),
                missing_roles: missing,
                suspended_placements: suspended,
            }
        })
        .collect();
    Ok(pods)
}

/// Bulk-run success (the studio's QC figure) per track, of decided work.
async fn bulk_run_by_track(db: &DatabaseConnection) -> Result<Vec<TrackBulkRunRow>> {
    let bulk: Vec<BulkRow> = db::fetch_all(
        db,
        "SELECT c.track, CAST(COUNT(*) AS BIGINT) AS reviewed, \
           CAST(COALESCE(SUM(CASE WHEN s.outputs_meeting_standard >= 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS successful \
         FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
         WHERE s.status IN ('accepted', 'rejected') GROUP BY c.track",
        [],
    )
    .await?;
    let mut bulk_run: BTreeMap<Option<Track>, BulkRun> = BTreeMap::new();
    for b in bulk {
        bulk_run.insert(
            b.track,
            BulkRun {
                reviewed_batches: b.reviewed,
                successful_batches: b.successful,
                rate: (b.reviewed > 0).then(|| b.successful as f64 / b.reviewed as f64),
            },
        );
    }
    Ok(bulk_run
        .into_iter()
        .map(|(track, bulk_run)| TrackBulkRunRow { track, bulk_run })
        .collect())
}

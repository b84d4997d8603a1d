//! The talent-engine dashboard: talents per tier and track, the funnel and
//! its conversion this year, nominations waiting, open roles, Tier 5
//! deployed against the yearly target and its pace, each pod's load,
//! completeness and peak concurrency, bulk-run success per track. Each
//! figure is one aggregate query; nothing is loaded row by row.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PodStatus, missing_roles, peaks};
use crate::challenges::BulkRun;
use crate::db;
use crate::error::{DomainError, FieldError, Result};
use crate::policy::{Allowed, SetTargets, ViewTalentEngine};
use crate::types::Track;
use crate::{audit, now};

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
    pub complete: bool,
    pub missing_roles: Vec<Track>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackBulkRunRow {
    /// Null: challenges without a track.
    #[schema(required = true)]
    pub track: Option<Track>,
    #[serde(flatten)]
    pub bulk_run: BulkRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaceStatus {
    /// At least 100 % of the target pro-rated to date.
    OnPace,
    /// Within 20 % below it.
    SlightlyOff,
    /// More than 20 % behind.
    OffPace,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Pace {
    pub year: i32,
    /// What the target asks for by today: the yearly target pro-rated to
    /// the day, or the quarterly targets (past quarters whole, this one
    /// pro-rated) when set.
    pub expected_to_date: f64,
    /// Deployed over expected (1 when nothing is expected yet).
    pub ratio: f64,
    pub status: PaceStatus,
}

/// The studio's rule: on pace at ≥ 100 % of the pro-rated target, slightly
/// off within 20 %, off-pace beyond.
pub fn pace(deployed: i64, targets: &YearlyTargets, at: DateTime<Utc>) -> Pace {
    let year_start = Utc.with_ymd_and_hms(targets.year, 1, 1, 0, 0, 0).single();
    let next_start = Utc
        .with_ymd_and_hms(targets.year + 1, 1, 1, 0, 0, 0)
        .single();
    let fraction = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| match (from, to) {
        (Some(f), Some(_)) if at <= f => 0.0,
        (Some(_), Some(t)) if at >= t => 1.0,
        (Some(f), Some(t)) => (at - f).num_seconds() as f64 / (t - f).num_seconds() as f64,
        _ => 0.0,
    };
    let expected = match &targets.quarterly {
        Some(q) => (0..4)
            .map(|i| {
                let month = 1 + 3 * i as u32;
                let from = Utc
                    .with_ymd_and_hms(targets.year, month, 1, 0, 0, 0)
                    .single();
                let to = if i == 3 {
                    next_start
                } else {
                    Utc.with_ymd_and_hms(targets.year, month + 3, 1, 0, 0, 0)
                        .single()
                };
                q[i] as f64 * fraction(from, to)
            })
            .sum(),
        None => targets.tier5_target as f64 * fraction(year_start, next_start),
    };
    let ratio = if expected <= 0.0 {
        1.0
    } else {
        deployed as f64 / expected
    };
    let status = if ratio >= 1.0 {
        PaceStatus::OnPace
    } else if ratio >= 0.8 {
        PaceStatus::SlightlyOff
    } else {
        PaceStatus::OffPace
    };
    Pace {
        year: targets.year,
        expected_to_date: expected,
        ratio,
        status,
    }
}

/// A year's targets (data; default 20 Tier 5 deployed, no quarterly split).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct YearlyTargets {
    pub year: i32,
    pub tier5_target: i64,
    /// Targets per quarter (Q1–Q4), when the studio sets them.
    #[schema(required = true)]
    pub quarterly: Option<[i64; 4]>,
}

const DEFAULT_TIER5_TARGET: i64 = 20;

#[derive(FromQueryResult)]
struct TargetRow {
    year: i32,
    tier5_target: i32,
    quarterly: Option<serde_json::Value>,
}

async fn targets_of(db: &DatabaseConnection, year: i32) -> Result<YearlyTargets> {
    let row: Option<TargetRow> = db::fetch_one(
        db,
        "SELECT year, tier5_target, quarterly FROM yearly_targets WHERE year = $1",
        [year.into()],
    )
    .await?;
    Ok(match row {
        Some(r) => YearlyTargets {
            year: r.year,
            tier5_target: r.tier5_target.into(),
            quarterly: r.quarterly.and_then(|q| serde_json::from_value(q).ok()),
        },
        None => YearlyTargets {
            year,
            tier5_target: DEFAULT_TIER5_TARGET,
            quarterly: None,
        },
    })
}

/// Targets as an admin sets them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsSpec {
    #[schema(minimum = 2000, maximum = 2100, example = 2026)]
    pub year: i64,
    #[schema(minimum = 0, maximum = 100000, example = 20)]
    pub tier5_target: i64,
    /// Four non-negative numbers (Q1–Q4), or null for an even pro-rating.
    #[serde(default)]
    #[schema(example = json!([3, 5, 6, 6]))]
    pub quarterly: Option<Vec<i64>>,
}

pub async fn set_targets(
    db: &DatabaseConnection,
    allowed: &Allowed<SetTargets>,
    spec: TargetsSpec,
) -> Result<YearlyTargets> {
    let mut errors = Vec::new();
    let year = i32::try_from(spec.year)
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    if year.is_none() {
        errors.push(FieldError::new("year", "must be 2000–2100"));
    }
    let target = i32::try_from(spec.tier5_target)
        .ok()
        .filter(|t| (0..=100_000).contains(t));
    if target.is_none() {
        errors.push(FieldError::new("tier5_target", "must be 0–100,000"));
    }
    let quarterly: Option<[i64; 4]> = match &spec.quarterly {
        None => None,
        Some(q) => match <[i64; 4]>::try_from(q.as_slice()) {
            Ok(q) if q.iter().all(|n| (0..=100_000).contains(n)) => Some(q),
            _ => {
                errors.push(FieldError::new(
                    "quarterly",
                    "must be four numbers 0–100,000 (Q1–Q4)",
                ));
                None
            }
        },
    };
    let (Some(year), Some(target)) = (year, target) else {
        return Err(DomainError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let tx = db::begin_write(db).await?;
    let before: Option<TargetRow> = db::fetch_one(
        &tx,
        "SELECT year, tier5_target, quarterly FROM yearly_targets WHERE year = $1",
        [year.into()],
    )
    .await?;
    let before = before.map(|r| serde_json::json!({ "year": r.year, "tier5_target": r.tier5_target, "quarterly": r.quarterly }));
    db::execute(
        &tx,
        "INSERT INTO yearly_targets (year, tier5_target, quarterly, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (year) DO UPDATE SET tier5_target = excluded.tier5_target, quarterly = excluded.quarterly, \
         updated_at = excluded.updated_at",
        [year.into(), target.into(), quarterly.map(|q| serde_json::json!(q)).into(), now().into()],
    )
    .await?;
    let t = YearlyTargets {
        year,
        tier5_target: target.into(),
        quarterly,
    };
    audit::record(
        &tx,
        allowed.caller().actor(),
        "dashboard.targets",
        "targets",
        Some(year.to_string()),
        before,
        Some(audit::json(&t)),
    )
    .await?;
    tx.commit().await?;
    Ok(t)
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
    /// since 1 January — what the yearly target and the pace count.
    pub tier5_deployed: i64,
    /// Tier 5 talents in a slot of a pod that is not closed, now.
    pub tier5_placed_now: i64,
    pub tier5_target: i64,
    pub targets: YearlyTargets,
    pub pace: Pace,
    pub pods: Vec<PodLoad>,
    pub bulk_run: Vec<TrackBulkRunRow>,
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
    _allowed: &Allowed<ViewTalentEngine>,
) -> Result<Dashboard> {
    let at = now();
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
    // The funnel: headline tiers now; registrations and first arrivals this year.
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
    let waiting: Option<Waiting> = db::fetch_one(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MIN(created_at) AS oldest FROM nominations \
         WHERE status = 'pending' AND expires_at > $1",
        [at.into()],
    )
    .await?;
    let (nominations_waiting, oldest) = waiting.map_or((0, None), |w| (w.n, w.oldest));
    let open_roles: Vec<OpenRoleCount> = db::fetch_all(
        db,
        "SELECT s.pod_id, p.name AS pod_name, s.track, CAST(COUNT(*) AS BIGINT) AS open_slots \
         FROM pod_slots s JOIN pods p ON p.id = s.pod_id WHERE s.status = 'open' AND p.status <> 'closed' \
         GROUP BY s.pod_id, p.name, s.track ORDER BY p.name, s.pod_id, s.track",
        [],
    )
    .await?;
    let tier5_deployed = count(
        db,
        "SELECT CAST(COUNT(DISTINCT talent_id) AS BIGINT) AS n FROM tier_changes \
         WHERE from_tier = 4 AND to_tier = 5 AND created_at >= $1",
        vec![year_start.into()],
    )
    .await?;
    let tier5_placed_now = count(
        db,
        "SELECT CAST(COUNT(DISTINCT s.talent_id) AS BIGINT) AS n FROM pod_slots s JOIN pods p ON p.id = s.pod_id \
         WHERE s.status = 'filled' AND p.status <> 'closed'",
        vec![],
    )
    .await?;
    let pod_rows: Vec<PodRow> = db::fetch_all(
        db,
        "SELECT id, name, status, client_capacity, active_engagements FROM pods ORDER BY name, id",
        [],
    )
    .await?;
    let filled: Vec<Filled> = db::fetch_all(
        db,
        "SELECT pod_id, track FROM pod_slots WHERE status = 'filled' GROUP BY pod_id, track",
        [],
    )
    .await?;
    let mut filled_by_pod: HashMap<Uuid, Vec<Track>> = HashMap::new();
    for f in filled {
        filled_by_pod.entry(f.pod_id).or_default().push(f.track);
    }
    let peak = peaks(db, None).await?;
    let pods = pod_rows
        .into_iter()
        .map(|p| {
            let tracks = filled_by_pod.remove(&p.id).unwrap_or_default();
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
            }
        })
        .collect();
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
    let targets = targets_of(db, year).await?;
    Ok(Dashboard {
        generated_at: at,
        tiers,
        funnel,
        nominations_waiting,
        oldest_nomination_age_seconds: oldest.map(|o| (at - o).num_seconds()),
        open_roles,
        tier5_deployed,
        tier5_placed_now,
        tier5_target: targets.tier5_target,
        pace: pace(tier5_deployed, &targets, at),
        targets,
        pods,
        bulk_run: bulk_run
            .into_iter()
            .map(|(track, bulk_run)| TrackBulkRunRow { track, bulk_run })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_else(|_| Utc::now())
    }

    #[test]
    fn pace_follows_the_studio_rule() {
        let t = YearlyTargets {
            year: 2026,
            tier5_target: 20,
            quarterly: None,
        };
        // Half-way through the year (2026-07-02 12:00 is day 182.5 of 365): 10 expected.
        let mid = at("2026-07-02T12:00:00Z");
        let p = pace(10, &t, mid);
        assert!((p.expected_to_date - 10.0).abs() < 0.01, "{p:?}");
        assert_eq!(p.status, PaceStatus::OnPace);
        assert_eq!(pace(9, &t, mid).status, PaceStatus::SlightlyOff);
        assert_eq!(pace(8, &t, mid).status, PaceStatus::SlightlyOff);
        assert_eq!(pace(7, &t, mid).status, PaceStatus::OffPace);
        assert_eq!(
            pace(0, &t, at("2026-01-01T00:00:00Z")).status,
            PaceStatus::OnPace
        );
        // Quarterly: Q1 whole (2) and half of Q2 (4 → 2).
        let q = YearlyTargets {
            year: 2026,
            tier5_target: 20,
            quarterly: Some([2, 4, 6, 8]),
        };
        let p = pace(4, &q, at("2026-05-16T12:00:00Z"));
        assert!((p.expected_to_date - 4.0).abs() < 0.1, "{p:?}");
        assert_eq!(
            pace(20, &q, at("2027-03-01T00:00:00Z")).expected_to_date,
            20.0
        );
    }
}

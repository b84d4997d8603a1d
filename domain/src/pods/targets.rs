//! The yearly targets of Tier 5 deployed (data an admin sets) and the
//! studio's pace rule the dashboard applies to them.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db;
use crate::error::{DomainError, FieldError, Result};
use crate::policy::{Allowed, SetTargets};
use crate::{audit, now};

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
        // A date that does not exist (outside chrono's range): nothing expected.
        (None, _) | (_, None) => 0.0,
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

pub(super) async fn targets_of(db: &DatabaseConnection, year: i32) -> Result<YearlyTargets> {
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
            Ok(_) | Err(_) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("a date")
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

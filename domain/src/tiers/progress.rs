//! Progress: per enrolled track the tier and, for the next tier, each
//! requirement's target, current value and whether it is met.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::engine::{self, Stats};
use crate::db;
use crate::error::{DomainError, Result};
use crate::types::Track;

/// One requirement of the next tier, as the portal shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgressItem {
    /// A requirement key (see `GET /tracks`), or for Tier 4
    /// `certification_challenge_passed` and `manager_certification`, for
    /// Tier 5 `pod_placement`.
    pub key: String,
    pub target: f64,
    pub current: f64,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NextTier {
    #[schema(minimum = 1, maximum = 5)]
    pub tier: i16,
    pub requirements: Vec<ProgressItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackProgress {
    pub track: Track,
    #[schema(minimum = 0, maximum = 5)]
    pub tier: i16,
    pub locked: bool,
    /// When set, the current tier's requirements no longer hold.
    #[schema(required = true)]
    pub below_requirements_since: Option<DateTime<Utc>>,
    /// When the tier drops unless the requirements hold again.
    #[schema(required = true)]
    pub demotion_due_at: Option<DateTime<Utc>>,
    /// The next tier and each of its requirements; null at Tier 5.
    #[schema(required = true)]
    pub next: Option<NextTier>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    pub talent_id: Uuid,
    /// Display name, bio and at least one portfolio link (Tier 1 needs it).
    pub profile_complete: bool,
    /// One per enrolled track.
    pub tracks: Vec<TrackProgress>,
}

fn item(key: &str, target: f64, current: f64) -> ProgressItem {
    ProgressItem {
        key: key.to_owned(),
        target,
        current,
        met: current >= target,
    }
}

/// Per enrolled track the tier and what the next one needs, from one read
/// of the talent's measures (a handful of queries, whatever the history).
pub async fn progress<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Progress> {
    if !db::exists(db, "SELECT 1 FROM users WHERE id = $1", [talent.into()]).await? {
        return Err(DomainError::NotFound("talent"));
    }
    let rows = engine::standings(db, talent, None).await?;
    let stats: Stats = engine::stats(db, talent).await?;
    let reqs = engine::all_requirements(db).await?;
    let tracks = engine::grace_days(db).await?;
    let none = Vec::new();
    let out = rows
        .into_iter()
        .map(|r| {
            let tier = r.tier.get();
            let reqs = reqs.get(&r.track).unwrap_or(&none);
            let next = match tier {
                0..=2 => Some(NextTier {
                    tier: tier + 1,
                    requirements: reqs
                        .iter()
                        .filter(|q| {
                            q.tier == tier + 1
                                || (q.tier <= tier && stats.value(q.key, r.track) < q.target)
                        })
                        .map(|q| item(q.key.as_str(), q.target, stats.value(q.key, r.track)))
                        .collect(),
                }),
                3 => Some(NextTier {
                    tier: 4,
                    requirements: vec![
                        item(
                            "certification_challenge_passed",
                            1.0,
                            stats.certifying.get(&r.track).copied().unwrap_or(0) as f64,
                        ),
                        item("manager_certification", 1.0, 0.0),
                    ],
                }),
                4 => Some(NextTier {
                    tier: 5,
                    requirements: vec![item("pod_placement", 1.0, 0.0)],
                }),
                _ => None,
            };
            let grace = Duration::days(tracks.get(&r.track).copied().unwrap_or(14).into());
            TrackProgress {
                track: r.track,
                tier,
                locked: r.locked,
                below_requirements_since: r.below_since,
                demotion_due_at: r.below_since.map(|s| s + grace),
                next,
            }
        })
        .collect();
    Ok(Progress {
        talent_id: talent,
        profile_complete: stats.profile_complete,
        tracks: out,
    })
}

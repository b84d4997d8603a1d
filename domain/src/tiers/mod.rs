//! Tiers per talent and track: the tracks and their requirements as data
//! (`tracks`), automatic tiers 1–3 (`engine`) reacting to reviews and
//! profile changes (`reactions`), enrolment, certification, demotion, locks and progress
//! (`standing`), the history of every change (`history`), the signed
//! certificates (`certificates`) that follow their evidence (`evidence`)
//! and their status lists (`status_lists`, published signed by
//! `status_list_credential`),
//! the attention list for what an admin must decide (`attention`), and the
//! headline tier (the highest over a talent's tracks) that the allowance
//! and profiles read.

mod attention;
mod certificates;
mod certification;
mod engine;
mod evidence;
mod history;
mod progress;
mod reactions;
mod signer;
mod standing;
mod status_list_credential;
mod status_lists;
mod tracks;

pub use attention::{AttentionItem, attention_list};
pub use certificates::{Certificate, CertificateStatus, get_certificate};
pub use certificates::{certificates_of, sign_pending, valid_certificate};
pub use certification::certify;
pub use engine::{end_grace_periods, reevaluate_batch};
pub(crate) use engine::{lock_talent, profile_complete};
pub use history::{TierChange, tier_history};
pub use progress::{NextTier, Progress, ProgressItem, TrackProgress, progress};
pub use reactions::react;
pub use signer::CredentialSigner;
pub use standing::{
    LockSpec, TierChangeSpec, TrackStanding, demote, enrol, set_lock, standings_of,
};
pub(crate) use standing::{place_at_five, record_tier_five_step};
pub use status_list_credential::{TTL_SECONDS, republish_lists, status_list_credential};
pub use status_lists::{CredentialStatus, give_entries};
pub(crate) use status_lists::{Revoked, revoked};
pub use tracks::{
    Playbook, PlaybookStatus, Reevaluation, ReevaluationStatus, Requirement, RequirementKey,
    RequirementSpec, RequirementsChanged, TrackChange, TrackInfo, get_reevaluation, get_track,
    list_tracks, parse_requirements, set_requirements, update_track,
};

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{self, SqlBuilder};
use crate::error::Result;
use crate::types::{Tier, Track};

/// A talent's tier in one track.
#[derive(Debug, Clone, Serialize, ToSchema, FromQueryResult)]
pub struct TrackTier {
    pub track: Track,
    #[schema(value_type = i16, minimum = 0, maximum = 5)]
    pub tier: Tier,
}

/// A talent's tier in each enrolled track, by track.
pub async fn track_tiers<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Vec<TrackTier>> {
    Ok(db::fetch_all(
        db,
        "SELECT track, tier FROM talent_tracks WHERE talent_id = $1 ORDER BY track",
        [talent.into()],
    )
    .await?)
}

/// The highest tier over a talent's tracks; 0 when not enrolled in any.
pub async fn headline_tier<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Tier> {
    Ok(headline_tiers(db, &[talent])
        .await?
        .get(&talent)
        .copied()
        .unwrap_or(Tier::ZERO))
}

#[derive(FromQueryResult)]
struct Headline {
    talent_id: Uuid,
    tier: Tier,
}

/// The headline tiers of several talents; those not enrolled are absent.
pub async fn headline_tiers<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Tier>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut b = SqlBuilder::new(
        "SELECT talent_id, MAX(tier) AS tier FROM talent_tracks WHERE talent_id IN (",
    );
    let ps: Vec<String> = ids.iter().map(|id| b.bind(*id)).collect();
    b.push(&ps.join(", "));
    b.push(") GROUP BY talent_id");
    let rows: Vec<Headline> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(rows.into_iter().map(|h| (h.talent_id, h.tier)).collect())
}

#[derive(FromQueryResult)]
struct OneTier {
    tier: Tier,
}

/// A talent's tier in `track`, or its headline tier without a track; 0 when
/// not enrolled.
pub async fn tier_for<C: ConnectionTrait>(
    db: &C,
    talent: Uuid,
    track: Option<Track>,
) -> Result<Tier> {
    let Some(track) = track else {
        return headline_tier(db, talent).await;
    };
    Ok(db::fetch_one::<OneTier, _>(
        db,
        "SELECT tier FROM talent_tracks WHERE talent_id = $1 AND track = $2",
        [talent.into(), track.into()],
    )
    .await?
    .map_or(Tier::ZERO, |t| t.tier))
}

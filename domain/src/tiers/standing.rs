//! A talent's standing per track and what changes it by hand: enrolment,
//! certification 3 → 4 by a community manager (issuing the certificate),
//! demotion or revocation with a reason, and the lock that stops automatic
//! changes; the handoff's tier step. Certification and progress live in
//! their own rooms (`certification`, `progress`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::attention;
use super::certificates::{self, Certificate};
use super::engine::{self, Cause, StandingRow};
use super::history::{self, Change};
use crate::db;
use crate::error::{DomainError, Result};
use crate::events::{self, Event, RevocationCause, TierDemoted};
use crate::idempotency::{self, Idempotency};
use crate::policy::{self, Allowed, ChangeTiers, EnrolInTrack};
use crate::types::{Text, Tier, Track};
use crate::{audit, now};

/// A talent's standing in one track.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackStanding {
    pub talent_id: Uuid,
    pub track: Track,
    /// 0 (enrolled, profile incomplete) to 5.
    #[schema(minimum = 0, maximum = 5)]
    pub tier: i16,
    /// No automatic change while locked (a manager's decision).
    pub locked: bool,
    /// Since when the tier's requirements no longer hold; the tier drops
    /// when the track's grace period has passed. Null while they hold.
    #[schema(required = true)]
    pub below_requirements_since: Option<DateTime<Utc>>,
    pub enrolled_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The valid Tier 4 certificate in this track, if any.
    #[schema(required = true)]
    pub certificate: Option<Certificate>,
}

pub(super) async fn standing<C: ConnectionTrait>(
    db: &C,
    talent: Uuid,
    track: Track,
) -> Result<TrackStanding> {
    let row = engine::standings(db, talent, Some(track))
        .await?
        .pop()
        .ok_or(DomainError::NotFound("enrolment in this track"))?;
    standing_of(db, row).await
}

async fn standing_of<C: ConnectionTrait>(db: &C, row: StandingRow) -> Result<TrackStanding> {
    Ok(TrackStanding {
        certificate: certificates::valid_certificate(db, row.talent_id, row.track).await?,
        talent_id: row.talent_id,
        track: row.track,
        tier: row.tier.get(),
        locked: row.locked,
        below_requirements_since: row.below_since,
        enrolled_at: row.enrolled_at,
        updated_at: row.updated_at,
    })
}

/// Enrols the caller in `track` at Tier 0, then evaluates it at once (Tier 1
/// with a complete profile, further when earlier work already meets more).
pub async fn enrol(
    db: &DatabaseConnection,
    allowed: &Allowed<EnrolInTrack>,
    idem: Option<&Idempotency>,
    track: Track,
) -> Result<TrackStanding> {
    let talent = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("an enrolment by a service"))?;
    idempotency::run_optional(db, idem, "track.enrol", &serde_json::json!({ "track": track }), async |tx| {
        engine::lock_talent(tx, talent).await?;
        if !engine::standings(tx, talent, Some(track))
            .await?
            .is_empty()
        {
            return Err(DomainError::AlreadyEnrolled);
        }
        let at = now();
        db::execute(
            tx,
            "INSERT INTO talent_tracks (talent_id, track, tier, enrolled_at, updated_at, locked, below_since) \
             VALUES ($1, $2, 0, $3, $3, $4, NULL)",
            [talent.into(), track.into(), at.into(), false.into()],
        )
        .await?;
        engine::evaluate(tx, talent, Some(track), &Cause::Enrolled).await?;
        let s = standing(tx, talent, track).await?;
        audit::record(
            tx,
            allowed.caller().actor(),
            "track.enrol",
            "talent",
            Some(talent.to_string()),
            None,
            Some(audit::json(&s)),
        )
        .await?;
        Ok(s)
    })
    .await
}

/// A talent's standing in every enrolled track.
pub async fn standings_of<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Vec<TrackStanding>> {
    let mut out = Vec::new();
    for row in engine::standings(db, talent, None).await? {
        out.push(standing_of(db, row).await?);
    }
    Ok(out)
}

/// Sets the row's tier (clearing any grace period); `locked` as given.
pub(super) async fn set_tier<C: ConnectionTrait>(
    tx: &C,
    row: &StandingRow,
    tier: i16,
    locked: bool,
) -> Result<()> {
    let moved = db::execute(
        tx,
        "UPDATE talent_tracks SET tier = $1, locked = $2, below_since = NULL, updated_at = $3 \
         WHERE talent_id = $4 AND track = $5 AND tier = $6",
        [
            tier.into(),
            locked.into(),
            now().into(),
            row.talent_id.into(),
            row.track.into(),
            row.tier.get().into(),
        ],
    )
    .await?;
    if moved == 0 {
        return Err(DomainError::bug("a locked standing moved"));
    }
    Ok(())
}

/// The handoff's tier step: Tier 4 → 5 in `track` by `actor`, with its
/// history entry (the caller holds the talent's lock).
pub(crate) async fn place_at_five<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Track,
    actor: Uuid,
    reason: &str,
    evidence: serde_json::Value,
) -> Result<()> {
    let row = engine::standings(tx, talent, Some(track))
        .await?
        .pop()
        .ok_or(DomainError::NotTierFour(0))?;
    if row.tier.get() != 4 {
        return Err(DomainError::NotTierFour(row.tier.get()));
    }
    set_tier(tx, &row, 5, row.locked).await?;
    let certificate = certificates::valid_certificate(tx, talent, track)
        .await?
        .map(|c| c.id);
    history::record(
        tx,
        Change {
            talent,
            track,
            from: 4,
            to: 5,
            actor: Some(actor),
            reason: reason.to_owned(),
            evidence,
            certificate,
        },
    )
    .await?;
    Ok(())
}

/// A Tier 5 talent's move between slots or to the bench: a history entry
/// that keeps the tier.
pub(crate) async fn record_tier_five_step<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Track,
    actor: Uuid,
    reason: String,
    evidence: serde_json::Value,
) -> Result<()> {
    history::record(
        tx,
        Change {
            talent,
            track,
            from: 5,
            to: 5,
            actor: Some(actor),
            reason,
            evidence,
            certificate: None,
        },
    )
    .await?;
    Ok(())
}

/// A demotion or revocation as a manager or admin sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierChangeSpec {
    /// The new tier, below the current one (0–4).
    #[schema(minimum = 0, maximum = 4, example = 3)]
    pub tier: i64,
    /// Why: the talent reads it in its tier history.
    #[schema(example = "Certification revoked: the certifying submission was copied work.")]
    pub reason: String,
    /// Lock the track against automatic changes afterwards (default true,
    /// so the requirements do not promote the talent straight back).
    #[serde(default)]
    pub lock: Option<bool>,
}

/// Demotes (or revokes a certification: demote below 4) with a reason.
/// Below Tier 4 the certificate is revoked. Out of Tier 5: admins only;
/// to Tier 4 not while the certificate's evidence is overturned (on the
/// attention list).
pub async fn demote(
    db: &DatabaseConnection,
    allowed: &Allowed<ChangeTiers>,
    idem: Option<&Idempotency>,
    talent: Uuid,
    track: Track,
    spec: TierChangeSpec,
) -> Result<TrackStanding> {
    let caller = allowed.caller();
    let me = caller
        .user_id()
        .ok_or_else(|| DomainError::bug("a demotion by a service"))?;
    policy::may_change_tier_of(caller, talent)?;
    let reason = Text::parse("reason", &spec.reason, 1, 2000);
    let tier = Tier::parse("tier", spec.tier);
    let (reason, demoted_to) = match (reason, tier) {
        (Ok(r), Ok(t)) => (r, t),
        (r, t) => {
            let errors = [r.err(), t.err()].into_iter().flatten().collect();
            return Err(DomainError::Validation(errors));
        }
    };
    idempotency::run_optional(
        db,
        idem,
        "tier.demote",
        &serde_json::json!({ "talent": talent, "track": track, "change": spec }),
        async |tx| {
            let to = demoted_to.get();
            engine::lock_talent(tx, talent).await?;
            let row = engine::standings(tx, talent, Some(track))
                .await?
                .pop()
                .ok_or(DomainError::NotFound("enrolment in this track"))?;
            policy::may_move_out_of(caller, row.tier)?;
            let from = row.tier.get();
            if to >= from {
                return Err(DomainError::field(
                    "tier",
                    &format!("must be below the current tier ({from})"),
                ));
            }
            // Tier 4 stands on a certificate whose evidence stands: one on
            // the attention list for overturned evidence is revoked (below
            // 4), not kept.
            if to == 4 && attention::is_open(tx, talent, track).await? {
                return Err(DomainError::field(
                    "tier",
                    "the evidence the certificate cites was overturned: demote to Tier 3 or below, which revokes it",
                ));
            }
            set_tier(tx, &row, to, spec.lock.unwrap_or(true)).await?;
            let revoked = if to < 4 {
                let cause = RevocationCause::Demoted;
                certificates::revoke(tx, talent, track, reason.as_str(), cause).await?
            } else {
                None
            };
            // Whoever keeps placements and nominations reacts: the pods free the
            // talent's slot out of Tier 5 and withdraw pending nominations below 4.
            let s = standing(tx, talent, track).await?;
            let demoted = Event::TierDemoted(TierDemoted {
                track,
                from: row.tier,
                to: demoted_to,
            });
            let (before, view) = (Some(audit::json(&from)), Some(audit::json(&s)));
            events::record_staff_action(tx, caller.actor(), talent, demoted, before, view).await?;
            let evidence = serde_json::json!({ "certificate_revoked": revoked });
            history::record(
                tx,
                Change {
                    talent,
                    track,
                    from,
                    to,
                    actor: Some(me),
                    reason: reason.into_string(),
                    evidence,
                    certificate: revoked,
                },
            )
            .await?;
            Ok(s)
        },
    )
    .await
}

/// A lock as a manager sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockSpec {
    pub locked: bool,
    /// Why (kept in the audit log).
    #[schema(example = "Under review for copied work")]
    pub reason: String,
}

/// Locks or unlocks a talent's tier in a track against automatic changes.
/// Unlocking evaluates the track at once.
pub async fn set_lock(
    db: &DatabaseConnection,
    allowed: &Allowed<ChangeTiers>,
    talent: Uuid,
    track: Track,
    spec: LockSpec,
) -> Result<TrackStanding> {
    let caller = allowed.caller();
    policy::may_change_tier_of(caller, talent)?;
    let reason = Text::parse("reason", &spec.reason, 1, 2000)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    let tx = db::begin_write(db).await?;
    engine::lock_talent(&tx, talent).await?;
    let before = standing(&tx, talent, track).await?;
    db::execute(
        &tx,
        "UPDATE talent_tracks SET locked = $1, below_since = NULL, updated_at = $2 WHERE talent_id = $3 AND track = $4",
        [spec.locked.into(), now().into(), talent.into(), track.into()],
    )
    .await?;
    if !spec.locked {
        let by = caller.user_id().unwrap_or_default();
        engine::evaluate(&tx, talent, Some(track), &Cause::Unlocked { by }).await?;
    }
    let s = standing(&tx, talent, track).await?;
    let after = serde_json::json!({ "standing": &s, "reason": reason.as_str() });
    audit::record(
        &tx,
        caller.actor(),
        if spec.locked {
            "tier.lock"
        } else {
            "tier.unlock"
        },
        "talent",
        Some(talent.to_string()),
        Some(audit::json(&before)),
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

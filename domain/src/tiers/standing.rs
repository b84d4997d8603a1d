//! A talent's standing per track and what changes it by hand: enrolment,
//! certification 3 → 4 by a community manager (issuing the certificate),
//! demotion or revocation with a reason, and the lock that stops automatic
//! changes. And progress: per track the tier and, for the next tier, each
//! requirement's target, current value and whether it is met.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::certificates::{self, Attestation, Certificate, CredentialSigner};
use super::engine::{self, Cause, StandingRow, Stats};
use super::history::{self, Change};
use super::tracks::PlaybookStatus;
use crate::db;
use crate::error::{DomainError, FieldError, Result};
use crate::policy::{self, Allowed, CertifyTalents, ChangeTiers, Denied, EnrolInTrack};
use crate::types::{Text, Tier, Track};
use crate::{audit, new_id, now};

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

async fn standing<C: ConnectionTrait>(db: &C, talent: Uuid, track: Track) -> Result<TrackStanding> {
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
    track: Track,
) -> Result<TrackStanding> {
    let talent = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("an enrolment by a service"))?;
    let tx = db::begin_write(db).await?;
    engine::lock_talent(&tx, talent).await?;
    if !engine::standings(&tx, talent, Some(track))
        .await?
        .is_empty()
    {
        return Err(DomainError::AlreadyEnrolled);
    }
    let at = now();
    db::execute(
        &tx,
        "INSERT INTO talent_tracks (talent_id, track, tier, enrolled_at, updated_at, locked, below_since) \
         VALUES ($1, $2, 0, $3, $3, $4, NULL)",
        [talent.into(), track.into(), at.into(), false.into()],
    )
    .await?;
    engine::evaluate(&tx, talent, Some(track), &Cause::Enrolled).await?;
    let s = standing(&tx, talent, track).await?;
    audit::record(
        &tx,
        allowed.caller().actor(),
        "track.enrol",
        "talent",
        Some(talent.to_string()),
        None,
        Some(audit::json(&s)),
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// A talent's standing in every enrolled track.
pub async fn standings_of<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Vec<TrackStanding>> {
    let mut out = Vec::new();
    for row in engine::standings(db, talent, None).await? {
        out.push(standing_of(db, row).await?);
    }
    Ok(out)
}

#[derive(FromQueryResult)]
struct TrackFacts {
    name: String,
    playbook_title: Option<String>,
    playbook_url: Option<String>,
    playbook_version: Option<String>,
    playbook_status: Option<PlaybookStatus>,
}

#[derive(FromQueryResult)]
struct CertifyingWork {
    submission_id: Uuid,
    review_id: Uuid,
    score: f64,
    title: String,
}

#[derive(FromQueryResult)]
struct Name {
    display_name: String,
}

/// A manager's certification: Tier 3 → 4 in `track`, issuing the signed
/// certificate. Needs Tier 3, an accepted submission in a challenge that
/// certifies the track, and the track's playbook approved; otherwise 422
/// naming each missing thing.
pub async fn certify(
    db: &DatabaseConnection,
    allowed: &Allowed<CertifyTalents>,
    signer: &dyn CredentialSigner,
    talent: Uuid,
    track: Track,
    note: &str,
) -> Result<TrackStanding> {
    let manager = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a certification by a service"))?;
    if manager == talent {
        return Err(DomainError::Forbidden(Denied::OwnTier));
    }
    let note = Text::parse("note", note, 0, 2000).map_err(|e| DomainError::Validation(vec![e]))?;
    let tx = db::begin_write(db).await?;
    engine::lock_talent(&tx, talent).await?;
    let name: Name = db::fetch_one(
        &tx,
        "SELECT display_name FROM users WHERE id = $1",
        [talent.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("talent"))?;
    let row = engine::standings(&tx, talent, Some(track)).await?.pop();
    let tier = row.as_ref().map_or(0, |r| r.tier.get());
    if tier >= 4 {
        return Err(DomainError::AlreadyCertified(tier));
    }
    let facts: TrackFacts =
        db::fetch_one(&tx, "SELECT * FROM tracks WHERE track = $1", [track.into()])
            .await?
            .ok_or(DomainError::NotFound("track"))?;
    let work: Option<CertifyingWork> = db::fetch_one(
        &tx,
        "SELECT s.id AS submission_id, s.review_id, s.score, c.title FROM submissions s \
         JOIN challenges c ON c.id = s.challenge_id \
         WHERE s.talent_id = $1 AND c.certifies_track = $2 AND s.status = 'accepted' AND s.review_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM certificates r WHERE r.submission_id = s.id AND r.status = 'revoked') \
         ORDER BY s.score DESC, s.id LIMIT 1",
        [talent.into(), track.into()],
    )
    .await?;
    let mut missing = Vec::new();
    if row.is_none() {
        missing.push(FieldError::new(
            "tier",
            format!("the talent is not enrolled in {}", track.as_str()),
        ));
    } else if tier < 3 {
        missing.push(FieldError::new(
            "tier",
            format!(
                "needs Tier 3 in {}; the talent is Tier {tier}",
                track.as_str()
            ),
        ));
    }
    if let Some(r) = &row {
        if r.locked {
            missing.push(FieldError::new(
                "locked",
                "a manager locked this track's tier; unlock it first",
            ));
        }
        if r.below_since.is_some() {
            missing.push(FieldError::new(
                "tier",
                "the Tier 3 requirements no longer hold (grace period running)",
            ));
        }
    }
    if work.is_none() {
        missing.push(FieldError::new(
            "certifying_submission",
            format!(
                "needs an accepted submission in a challenge that certifies {} (not one a revoked certificate cited)",
                track.as_str()
            ),
        ));
    }
    let playbook = match (
        &facts.playbook_title,
        &facts.playbook_url,
        &facts.playbook_version,
        facts.playbook_status,
    ) {
        (Some(t), Some(u), Some(v), Some(PlaybookStatus::Approved)) => Some((t, u, v)),
        _ => None,
    };
    if playbook.is_none() {
        missing.push(FieldError::new(
            "playbook",
            format!(
                "the {} playbook is not approved as onboarding-ready",
                track.as_str()
            ),
        ));
    }
    let (Some(row), Some(work), Some((pb_title, pb_url, pb_version))) = (row, work, playbook)
    else {
        return Err(DomainError::RequirementsUnmet(missing));
    };
    if !missing.is_empty() {
        return Err(DomainError::RequirementsUnmet(missing));
    }
    let (id, at) = (new_id(), now());
    let claims = certificates::credential(
        &Attestation {
            id,
            talent,
            talent_name: &name.display_name,
            track,
            track_name: &facts.name,
            playbook_title: pb_title,
            playbook_url: pb_url,
            playbook_version: pb_version,
            challenge_title: &work.title,
            score: work.score,
            issued_at: at,
        },
        signer.issuer(),
    );
    let (kid, jws) = signer.sign(&claims).map_err(DomainError::Internal)?;
    db::execute(
        &tx,
        "INSERT INTO certificates (id, talent_id, track, tier, status, playbook_version, certified_by, submission_id, \
         review_id, kid, credential, issued_at) VALUES ($1, $2, $3, 4, 'valid', $4, $5, $6, $7, $8, $9, $10)",
        [
            id.into(),
            talent.into(),
            track.into(),
            pb_version.as_str().into(),
            manager.into(),
            work.submission_id.into(),
            work.review_id.into(),
            kid.into(),
            jws.into(),
            at.into(),
        ],
    )
    .await?;
    set_tier(&tx, &row, 4, row.locked).await?;
    let evidence = serde_json::json!({
        "submission_id": work.submission_id,
        "review_id": work.review_id,
        "score": work.score,
        "playbook_version": pb_version,
        "note": note.as_str(),
    });
    let reason = if note.as_str().is_empty() {
        "certified by a community manager".to_owned()
    } else {
        note.into_string()
    };
    history::record(
        &tx,
        Change {
            talent,
            track,
            from: 3,
            to: 4,
            actor: Some(manager),
            reason,
            evidence,
            certificate: Some(id),
        },
    )
    .await?;
    let s = standing(&tx, talent, track).await?;
    audit::record(
        &tx,
        allowed.caller().actor(),
        "tier.certify",
        "talent",
        Some(talent.to_string()),
        None,
        Some(audit::json(&s)),
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// Sets the row's tier (clearing any grace period); `locked` as given.
async fn set_tier<C: ConnectionTrait>(
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
/// Below Tier 4 the certificate is revoked. Out of Tier 5: admins only.
pub async fn demote(
    db: &DatabaseConnection,
    allowed: &Allowed<ChangeTiers>,
    talent: Uuid,
    track: Track,
    spec: TierChangeSpec,
) -> Result<TrackStanding> {
    let caller = allowed.caller();
    let me = caller
        .user_id()
        .ok_or_else(|| DomainError::bug("a demotion by a service"))?;
    if me == talent {
        return Err(DomainError::Forbidden(Denied::OwnTier));
    }
    let reason = Text::parse("reason", &spec.reason, 1, 2000);
    let tier = Tier::parse("tier", spec.tier);
    let (reason, to) = match (reason, tier) {
        (Ok(r), Ok(t)) => (r, t.get()),
        (r, t) => {
            let errors = [r.err(), t.err()].into_iter().flatten().collect();
            return Err(DomainError::Validation(errors));
        }
    };
    let tx = db::begin_write(db).await?;
    engine::lock_talent(&tx, talent).await?;
    let row = engine::standings(&tx, talent, Some(track))
        .await?
        .pop()
        .ok_or(DomainError::NotFound("enrolment in this track"))?;
    let from = row.tier.get();
    if from == 5 && !policy::is_admin(caller) {
        return Err(DomainError::Forbidden(Denied::TierFiveNeedsAdmin));
    }
    if to >= from {
        return Err(DomainError::field(
            "tier",
            &format!("must be below the current tier ({from})"),
        ));
    }
    set_tier(&tx, &row, to, spec.lock.unwrap_or(true)).await?;
    let revoked = if to < 4 {
        certificates::revoke(&tx, talent, track, reason.as_str()).await?
    } else {
        None
    };
    // Whoever keeps placements and nominations reacts: the pods free the
    // talent's slot out of Tier 5 and withdraw pending nominations below 4.
    crate::events::record(
        &tx,
        "tier.demoted",
        "talent",
        talent,
        serde_json::json!({ "track": track, "from": from, "to": to }),
    )
    .await?;
    let evidence = serde_json::json!({ "certificate_revoked": revoked });
    history::record(
        &tx,
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
    let s = standing(&tx, talent, track).await?;
    audit::record(
        &tx,
        caller.actor(),
        "tier.demote",
        "talent",
        Some(talent.to_string()),
        Some(audit::json(&from)),
        Some(audit::json(&s)),
    )
    .await?;
    tx.commit().await?;
    Ok(s)
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
    if caller.user_id() == Some(talent) {
        return Err(DomainError::Forbidden(Denied::OwnTier));
    }
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

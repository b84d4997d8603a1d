//! Certification 3 → 4 by a community manager, issuing the signed
//! certificate.

use sea_orm::{DatabaseConnection, FromQueryResult};
use uuid::Uuid;

use super::certificates::{self, Attestation, CredentialSigner};
use super::engine;
use super::evidence;
use super::history::{self, Change};
use super::standing::{TrackStanding, set_tier, standing};
use super::tracks::PlaybookStatus;
use crate::db;
use crate::error::{DomainError, FieldError, Result};
use crate::idempotency::{self, Idempotency};
use crate::policy::{self, Allowed, CertifyTalents};
use crate::types::{Text, Track};
use crate::{audit, new_id, now, verification};

#[derive(FromQueryResult)]
struct TrackFacts {
    name: String,
    playbook_title: Option<String>,
    playbook_url: Option<String>,
    playbook_version: Option<String>,
    playbook_status: Option<PlaybookStatus>,
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
    idem: Option<&Idempotency>,
    signer: &dyn CredentialSigner,
    talent: Uuid,
    track: Track,
    note: &str,
) -> Result<TrackStanding> {
    let manager = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a certification by a service"))?;
    policy::may_change_tier_of(allowed.caller(), talent)?;
    let note = Text::parse("note", note, 0, 2000).map_err(|e| DomainError::Validation(vec![e]))?;
    idempotency::run_optional(db, idem, "tier.certify", &serde_json::json!({ "talent": talent, "track": track, "note": note.as_str() }), async |tx| {
        engine::lock_talent(tx, talent).await?;
        let name: Name = db::fetch_one(
            tx,
            "SELECT display_name FROM users WHERE id = $1",
            [talent.into()],
        )
        .await?
        .ok_or(DomainError::NotFound("talent"))?;
        verification::require_active(tx, talent).await?;
        verification::require_verified(tx, talent).await?;
        let row = engine::standings(tx, talent, Some(track)).await?.pop();
        let tier = row.as_ref().map_or(0, |r| r.tier.get());
        if tier >= 4 {
            return Err(DomainError::AlreadyCertified(tier));
        }
        let facts: TrackFacts =
            db::fetch_one(tx, "SELECT * FROM tracks WHERE track = $1", [track.into()])
                .await?
                .ok_or(DomainError::NotFound("track"))?;
        let work = evidence::best_evidence(tx, talent, track).await?;
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
                    "needs an accepted submission in a challenge that certifies {} (not one a certificate revoked by a manager cited)",
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
            tx,
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
        set_tier(tx, &row, 4, row.locked).await?;
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
            tx,
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
        let s = standing(tx, talent, track).await?;
        audit::record(
            tx,
            allowed.caller().actor(),
            "tier.certify",
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

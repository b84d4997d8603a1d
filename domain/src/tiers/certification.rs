//! Certification 3 → 4 by a community manager, issuing the signed
//! certificate.

use sea_orm::{DatabaseConnection, DatabaseTransaction, FromQueryResult};
use uuid::Uuid;

use super::certificates::{self, Attestation};
use super::engine::{self, StandingRow};
use super::evidence::{self, Evidence};
use super::history::{self, Change};
use super::signer::CredentialSigner;
use super::standing::{TrackStanding, set_tier, standing};
use super::status_lists;
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
    idempotency::run_optional(
        db,
        idem,
        "tier.certify",
        &serde_json::json!({ "talent": talent, "track": track, "note": note.as_str() }),
        async |tx| {
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
            let ready = requirements(tx, talent, track).await?;
            let id = issue(tx, signer, manager, &ready, &name.display_name).await?;
            set_tier(tx, &ready.row, 4, ready.row.locked).await?;
            record_step(tx, manager, &ready, id, note).await?;
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
        },
    )
    .await
}

/// The tier history's step 3 → 4, citing the evidence and the note.
async fn record_step(
    tx: &DatabaseTransaction,
    manager: Uuid,
    ready: &Ready,
    certificate: Uuid,
    note: Text,
) -> Result<()> {
    let evidence = serde_json::json!({
        "submission_id": ready.work.submission_id,
        "review_id": ready.work.review_id,
        "score": ready.work.score,
        "playbook_version": ready.playbook.version,
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
            talent: ready.talent,
            track: ready.track,
            from: 3,
            to: 4,
            actor: Some(manager),
            reason,
            evidence,
            certificate: Some(certificate),
        },
    )
    .await?;
    Ok(())
}

/// The approved playbook a certificate names.
struct Playbook {
    title: String,
    url: String,
    version: String,
}

/// What a certification stands on, every requirement met.
struct Ready {
    talent: Uuid,
    track: Track,
    track_name: String,
    row: StandingRow,
    work: Evidence,
    playbook: Playbook,
}

/// Checks every requirement of certification in `track` and names each
/// one missing (422), or returns what the certificate stands on.
async fn requirements(tx: &DatabaseTransaction, talent: Uuid, track: Track) -> Result<Ready> {
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
    let mut missing = standing_missing(row.as_ref(), track);
    if work.is_none() {
        missing.push(FieldError::new(
            "certifying_submission",
            format!(
                "needs an accepted submission in a challenge that certifies {} (not one a certificate revoked by a manager cited)",
                track.as_str()
            ),
        ));
    }
    let playbook = match facts {
        TrackFacts {
            playbook_title: Some(title),
            playbook_url: Some(url),
            playbook_version: Some(version),
            playbook_status: Some(PlaybookStatus::Approved),
            ..
        } => Some(Playbook {
            title,
            url,
            version,
        }),
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
    match (row, work, playbook) {
        (Some(row), Some(work), Some(playbook)) if missing.is_empty() => Ok(Ready {
            talent,
            track,
            track_name: facts.name,
            row,
            work,
            playbook,
        }),
        _ => Err(DomainError::RequirementsUnmet(missing)),
    }
}

/// What of the talent's standing in `track` stops a certification.
fn standing_missing(row: Option<&StandingRow>, track: Track) -> Vec<FieldError> {
    let Some(r) = row else {
        return vec![FieldError::new(
            "tier",
            format!("the talent is not enrolled in {}", track.as_str()),
        )];
    };
    let mut missing = Vec::new();
    let tier = r.tier.get();
    if tier < 3 {
        missing.push(FieldError::new(
            "tier",
            format!(
                "needs Tier 3 in {}; the talent is Tier {tier}",
                track.as_str()
            ),
        ));
    }
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
    missing
}

/// Stores the certificate, gives it its status-list entry and signs its
/// credential (which names the entry); returns its id.
async fn issue(
    tx: &DatabaseTransaction,
    signer: &dyn CredentialSigner,
    manager: Uuid,
    ready: &Ready,
    talent_name: &str,
) -> Result<Uuid> {
    let (id, at) = (new_id(), now());
    db::execute(
        tx,
        "INSERT INTO certificates (id, talent_id, track, tier, status, playbook_version, certified_by, submission_id, \
         review_id, kid, credential, issued_at) VALUES ($1, $2, $3, 4, 'valid', $4, $5, $6, $7, '', '', $8)",
        [
            id.into(),
            ready.talent.into(),
            ready.track.into(),
            ready.playbook.version.as_str().into(),
            manager.into(),
            ready.work.submission_id.into(),
            ready.work.review_id.into(),
            at.into(),
        ],
    )
    .await?;
    let status = status_lists::assign(tx, signer, id).await?;
    let claims = certificates::credential(
        &Attestation {
            id,
            talent: ready.talent,
            talent_name,
            track: ready.track,
            track_name: &ready.track_name,
            playbook_title: &ready.playbook.title,
            playbook_url: &ready.playbook.url,
            playbook_version: &ready.playbook.version,
            challenge_title: &ready.work.title,
            score: ready.work.score,
            issued_at: at,
            status: &status,
        },
        signer.issuer(),
    );
    let (kid, jws) = signer.sign(&claims).map_err(DomainError::Internal)?;
    db::execute(
        tx,
        "UPDATE certificates SET kid = $1, credential = $2 WHERE id = $3",
        [kid.into(), jws.into(), id.into()],
    )
    .await?;
    Ok(id)
}

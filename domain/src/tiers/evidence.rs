//! Certificates follow their evidence. A valid certificate cites one
//! accepted submission of a challenge that certifies its track. When a
//! review decides about a certifying challenge's submission (the tier
//! code's reaction, in the review's transaction, after the talent's lock),
//! the talent's certificate in that track is checked against what it cites:
//! - the cited submission is accepted: it stands (an attention entry, if
//!   any, clears: the evidence was accepted again);
//! - it is not, and another accepted submission of a certifying challenge
//!   of the track can stand: the certificate is revoked and a new one
//!   issued citing that submission (the tier stays; history
//!   `evidence_replaced`);
//! - nothing else stands, at Tier 4: the certificate is revoked and the
//!   track moves back to Tier 3 (history `evidence_overturned`);
//! - nothing else stands, at Tier 5: nothing moves by itself; the talent
//!   goes on the dashboard's attention list for an admin.
//!
//! A lock on the track does not stop this: a lock holds the requirements'
//! automatic moves, not a certificate whose evidence fell.

use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::attention;
use super::certificates::PendingAttestation;
use super::engine;
use super::history::{self, Change};
use super::standing::set_tier;
use super::status_lists::{self, Revoked};
use crate::db;
use crate::error::{DomainError, Result};
use crate::types::Track;
use crate::{new_id, now};

/// The history reason and the certificate's revocation reason when the
/// cited evidence falls.
pub(crate) const EVIDENCE_OVERTURNED: &str = "evidence_overturned";
/// The history reason of a re-issue on other evidence.
const EVIDENCE_REPLACED: &str = "evidence_replaced";

/// An accepted submission that can stand as a certificate's evidence.
#[derive(Debug, FromQueryResult)]
pub(super) struct Evidence {
    pub submission_id: Uuid,
    pub review_id: Uuid,
    pub score: f64,
    pub title: String,
}

/// The talent's best accepted submission of a challenge that certifies
/// `track`, not one a certificate revoked by a person cited (a certificate
/// revoked because its evidence was overturned does not count against it:
/// accepted again, the work stands again).
pub(super) async fn best_evidence<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Track,
) -> Result<Option<Evidence>> {
    Ok(db::fetch_one(
        tx,
        "SELECT s.id AS submission_id, s.review_id, s.score, c.title FROM submissions s \
         JOIN challenges c ON c.id = s.challenge_id \
         WHERE s.talent_id = $1 AND c.certifies_track = $2 AND s.status = 'accepted' AND s.review_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM certificates r WHERE r.submission_id = s.id AND r.status = 'revoked' \
           AND COALESCE(r.revoked_reason, '') <> $3) \
         ORDER BY s.score DESC, s.id LIMIT 1",
        [talent.into(), track.into(), EVIDENCE_OVERTURNED.into()],
    )
    .await?)
}

#[derive(FromQueryResult)]
struct Reviewed {
    talent_id: Uuid,
    track: Option<Track>,
}

/// The reaction to a review decision about `submission`: when its
/// challenge certifies a track, the talent's certificate in that track
/// follows its evidence (see the module's rules).
pub(super) async fn follow<C: ConnectionTrait>(tx: &C, submission: Uuid) -> Result<()> {
    let reviewed: Option<Reviewed> = db::fetch_one(
        tx,
        "SELECT s.talent_id, c.certifies_track AS track FROM submissions s \
         JOIN challenges c ON c.id = s.challenge_id WHERE s.id = $1",
        [submission.into()],
    )
    .await?;
    let Some(Reviewed {
        talent_id: talent,
        track: Some(track),
    }) = reviewed
    else {
        return Ok(());
    };
    engine::lock_talent(tx, talent).await?;
    reconcile(tx, talent, track).await
}

/// A valid certificate and whether what it cites still stands.
#[derive(FromQueryResult)]
struct Cited {
    id: Uuid,
    submission_id: Uuid,
    playbook_version: String,
    certified_by: Uuid,
    stands: bool,
    /// The cited submission's current review (the one that overturned it).
    current_review: Option<Uuid>,
}

async fn reconcile<C: ConnectionTrait>(tx: &C, talent: Uuid, track: Track) -> Result<()> {
    let cert: Option<Cited> = db::fetch_one(
        tx,
        "SELECT c.id, c.submission_id, c.playbook_version, c.certified_by, \
           EXISTS (SELECT 1 FROM submissions s WHERE s.id = c.submission_id AND s.status = 'accepted') AS stands, \
           (SELECT s.review_id FROM submissions s WHERE s.id = c.submission_id) AS current_review \
         FROM certificates c WHERE c.talent_id = $1 AND c.track = $2 AND c.status = 'valid'",
        [talent.into(), track.into()],
    )
    .await?;
    let Some(cert) = cert else {
        return Ok(());
    };
    if cert.stands {
        attention::clear(tx, talent, Some(track), "evidence_accepted").await?;
        return Ok(());
    }
    let Some(row) = engine::standings(tx, talent, Some(track)).await?.pop() else {
        return Err(DomainError::bug(
            "a valid certificate in a track not enrolled",
        ));
    };
    let tier = row.tier.get();
    let mut evidence = serde_json::json!({
        "submission_id": cert.submission_id,
        "review_id": cert.current_review,
        "certificate_revoked": cert.id,
    });
    if let Some(work) = best_evidence(tx, talent, track).await? {
        let issued = reissue(tx, &cert, talent, track, &work).await?;
        evidence["certificate_issued"] = serde_json::json!(issued);
        evidence["evidence_submission_id"] = serde_json::json!(work.submission_id);
        evidence["evidence_review_id"] = serde_json::json!(work.review_id);
        history::record(
            tx,
            Change {
                certificate: Some(issued),
                ..Change::automatic(talent, track, tier, tier, EVIDENCE_REPLACED, evidence)
            },
        )
        .await?;
        attention::clear(tx, talent, Some(track), EVIDENCE_REPLACED).await?;
        return Ok(());
    }
    match tier {
        4 => {
            super::certificates::revoke(tx, talent, track, EVIDENCE_OVERTURNED).await?;
            set_tier(tx, &row, 3, row.locked).await?;
            history::record(
                tx,
                Change {
                    certificate: Some(cert.id),
                    ..Change::automatic(talent, track, 4, 3, EVIDENCE_OVERTURNED, evidence)
                },
            )
            .await?;
        }
        5 => attention::open(tx, talent, track, cert.submission_id, cert.id).await?,
        // A valid certificate below Tier 4 does not outlive a demotion.
        _ => {}
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct Facts {
    display_name: String,
    track_name: String,
    playbook_title: Option<String>,
    playbook_url: Option<String>,
}

/// Revokes `old` and issues a certificate citing `work` in its place,
/// against the same playbook version; the new one waits for the API's
/// signature (this transaction has no key). Its id.
async fn reissue<C: ConnectionTrait>(
    tx: &C,
    old: &Cited,
    talent: Uuid,
    track: Track,
    work: &Evidence,
) -> Result<Uuid> {
    let facts: Facts = db::fetch_one(
        tx,
        "SELECT u.display_name, t.name AS track_name, t.playbook_title, t.playbook_url \
         FROM users u JOIN tracks t ON t.track = $2 WHERE u.id = $1",
        [talent.into(), track.into()],
    )
    .await?
    .ok_or_else(|| DomainError::bug("a certificate's holder or track is missing"))?;
    let attestation = PendingAttestation {
        playbook_title: facts
            .playbook_title
            .unwrap_or_else(|| format!("{} playbook", facts.track_name)),
        playbook_url: facts.playbook_url.unwrap_or_else(|| {
            format!(
                "urn:kartel:playbook:{}:{}",
                track.as_str(),
                old.playbook_version
            )
        }),
        talent_name: facts.display_name,
        track_name: facts.track_name,
        playbook_version: old.playbook_version.clone(),
        challenge_title: work.title.clone(),
        score: work.score,
    };
    let (id, at) = (new_id(), now());
    // The old one first: at most one valid certificate per talent and track.
    let revoked = db::execute(
        tx,
        "UPDATE certificates SET status = 'revoked', revoked_at = $1, revoked_reason = $2, replaced_by = $3 \
         WHERE id = $4 AND status = 'valid'",
        [
            at.into(),
            EVIDENCE_OVERTURNED.into(),
            id.into(),
            old.id.into(),
        ],
    )
    .await?;
    if revoked != 1 {
        return Err(DomainError::bug("a certificate read as valid was not"));
    }
    status_lists::revoked(tx, Revoked::Certificate(old.id)).await?;
    db::execute(
        tx,
        "INSERT INTO certificates (id, talent_id, track, tier, status, playbook_version, certified_by, submission_id, \
         review_id, kid, credential, issued_at, pending_attestation) \
         VALUES ($1, $2, $3, 4, 'valid', $4, $5, $6, $7, '', '', $8, $9)",
        [
            id.into(),
            talent.into(),
            track.into(),
            old.playbook_version.as_str().into(),
            old.certified_by.into(),
            work.submission_id.into(),
            work.review_id.into(),
            at.into(),
            serde_json::json!(attestation).into(),
        ],
    )
    .await?;
    Ok(id)
}

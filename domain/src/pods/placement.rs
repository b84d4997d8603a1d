//! After placement: a Tier 5 talent is unassigned to the bench (still Tier
//! 5, listed as available while the account is active) or assigned to
//! another open slot of its track; a demotion out of Tier 5 or an erasure
//! frees the slot, a suspension withdraws pending nominations (reactions
//! to announced events). Every step is in the tier history.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PodStatus, SlotStatus, find_slot, pod_row};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::events::{self, Event, PodAssigned, PodUnassigned};
use crate::page::{self, Page};
use crate::policy::{Allowed, ManagePods, ViewTalentEngine};
use crate::types::{Limit, Track};
use crate::{audit, now, tiers, verification};

/// Unassigns the slot's talent: the slot opens, the talent goes to the bench.
pub async fn unassign(
    db: &DatabaseConnection,
    allowed: &Allowed<ManagePods>,
    pod: Uuid,
    slot_id: Uuid,
) -> Result<super::Slot> {
    let lead = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a lead's action by a service"))?;
    let tx = db::begin_write(db).await?;
    let slot = find_slot(&tx, pod, slot_id).await?;
    let Some(talent) = slot.talent_id else {
        return Err(DomainError::SlotEmpty);
    };
    tiers::lock_talent(&tx, talent).await?;
    if !vacate(&tx, slot_id, talent).await? {
        return Err(DomainError::SlotEmpty);
    }
    let p = pod_row(&tx, pod).await?;
    tiers::record_tier_five_step(
        &tx,
        talent,
        slot.track,
        lead,
        format!("unassigned from pod {}: on the bench", p.name),
        serde_json::json!({ "pod_id": pod, "slot_id": slot_id, "action": "unassigned" }),
    )
    .await?;
    let after = find_slot(&tx, pod, slot_id).await?;
    let unassigned = Event::PodUnassigned(PodUnassigned {
        slot_id,
        talent_id: talent,
        reason: None,
        slot: Some(after.clone()),
    });
    let (before, view) = (Some(audit::json(&slot)), Some(audit::json(&after)));
    events::record_staff_action(&tx, allowed.caller().actor(), pod, unassigned, before, view)
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Assigns a Tier 5 talent of the slot's track to an open slot — from the
/// bench, or moved from another slot (which opens). Never a suspended or
/// erased person (422 `account_not_active`).
pub async fn assign(
    db: &DatabaseConnection,
    allowed: &Allowed<ManagePods>,
    pod: Uuid,
    slot_id: Uuid,
    talent: Uuid,
) -> Result<super::Slot> {
    let lead = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a lead's action by a service"))?;
    let tx = db::begin_write(db).await?;
    let slot = find_slot(&tx, pod, slot_id).await?;
    tiers::lock_talent(&tx, talent).await?;
    verification::require_active(&tx, talent).await?;
    super::lock_pod(&tx, pod).await?;
    let p = pod_row(&tx, pod).await?;
    if p.status == PodStatus::Closed {
        return Err(DomainError::PodClosed("closed"));
    }
    let tier = tiers::tier_for(&tx, talent, Some(slot.track)).await?.get();
    if tier != 5 {
        return Err(DomainError::field(
            "talent_id",
            &format!(
                "only a Tier 5 talent of {} fills this slot; the talent is Tier {tier} (nominate Tier 4 talent instead)",
                slot.track.as_str()
            ),
        ));
    }
    if slot.status == SlotStatus::Filled {
        return Err(DomainError::SlotFilled);
    }
    #[derive(FromQueryResult)]
    struct Current {
        id: Uuid,
        pod_id: Uuid,
    }
    let from: Option<Current> = db::fetch_one(
        &tx,
        "SELECT id, pod_id FROM pod_slots WHERE talent_id = $1",
        [talent.into()],
    )
    .await?;
    if let Some(f) = &from {
        vacate(&tx, f.id, talent).await?;
    }
    let filled = db::execute(
        &tx,
        "UPDATE pod_slots SET status = 'filled', talent_id = $1, filled_at = $2 WHERE id = $3 AND status = 'open'",
        [talent.into(), now().into(), slot_id.into()],
    )
    .await?;
    if filled == 0 {
        return Err(DomainError::SlotFilled);
    }
    let reason = match &from {
        Some(f) => format!(
            "moved to pod {} (from slot {} of pod {})",
            p.name, f.id, f.pod_id
        ),
        None => format!("assigned from the bench to pod {}", p.name),
    };
    tiers::record_tier_five_step(
        &tx,
        talent,
        slot.track,
        lead,
        reason,
        serde_json::json!({ "pod_id": pod, "slot_id": slot_id, "from_slot_id": from.as_ref().map(|f| f.id), "action": "assigned" }),
    )
    .await?;
    let after = find_slot(&tx, pod, slot_id).await?;
    let assigned = Event::PodAssigned(PodAssigned {
        slot: after.clone(),
        from_slot_id: from.as_ref().map(|f| f.id),
    });
    let (before, view) = (Some(audit::json(&slot)), Some(audit::json(&after)));
    events::record_staff_action(&tx, allowed.caller().actor(), pod, assigned, before, view).await?;
    tx.commit().await?;
    Ok(after)
}

/// A Tier 5 talent without a slot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct BenchEntry {
    pub talent_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub track: Track,
    /// Since when Tier 5 in the track (or last moved).
    pub updated_at: DateTime<Utc>,
    /// Suspended: not available for placement (listed only when asked for).
    pub suspended: bool,
}

/// The bench: Tier 5 talents in no slot, available for placement (staff).
/// Suspended people are not available, so not listed unless
/// `include_suspended` (then marked); erased people never are.
pub async fn bench(
    db: &DatabaseConnection,
    _allowed: &Allowed<ViewTalentEngine>,
    track: Option<Track>,
    include_suspended: bool,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<BenchEntry>> {
    let after: Option<String> = page::decode(cursor)?;
    let mut b = SqlBuilder::new(
        "SELECT tt.talent_id, u.handle, u.display_name, tt.track, tt.updated_at, u.status = 'suspended' AS suspended \
         FROM talent_tracks tt JOIN users u ON u.id = tt.talent_id \
         WHERE tt.tier = 5 AND NOT EXISTS (SELECT 1 FROM pod_slots s WHERE s.talent_id = tt.talent_id)",
    );
    b.push(if include_suspended {
        " AND u.status IN ('active', 'suspended')"
    } else {
        " AND u.status = 'active'"
    });
    if let Some(t) = track {
        let p = b.bind(t);
        b.push(&format!(" AND tt.track = {p}"));
    }
    let bad_cursor = || DomainError::field("cursor", "is not a cursor of this list");
    if let Some(a) = after.as_deref() {
        let (talent, track) = a.split_once(':').ok_or_else(bad_cursor)?;
        let talent: Uuid = talent
            .parse()
            .map_err(|_| DomainError::field("cursor", "is not a cursor of this list"))?;
        let (p1, p2) = (b.bind(talent), b.bind(track.to_owned()));
        b.push(&format!(
            " AND (tt.talent_id > {p1} OR (tt.talent_id = {p1} AND tt.track > {p2}))"
        ));
    }
    b.push(&format!(
        " ORDER BY tt.talent_id, tt.track LIMIT {}",
        limit.get() + 1
    ));
    let rows: Vec<BenchEntry> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(Page::from_rows(rows, limit.get(), |e: &BenchEntry| {
        format!("{}:{}", e.talent_id, e.track.as_str())
    }))
}

/// The pods' reaction to announced events: a talent demoted out of Tier 5
/// in a track leaves its slot of that track (with a pod event); one demoted
/// below Tier 4 loses its pending nominations in the track (withdrawn), and
/// so does one whose certificate a review decision revoked (the tier code
/// reacted first); a suspended person loses every pending nomination but
/// keeps their slot (marked suspended); an erased one loses both.
pub async fn react<C: ConnectionTrait>(tx: &C, subject: Uuid, event: &Event) -> Result<()> {
    let d = match event {
        Event::TierDemoted(d) => d,
        Event::UserErased(_) => return react_to_erasure(tx, subject).await,
        Event::UserSuspended(_) => {
            return withdraw_all(tx, subject, "the talent's account was suspended").await;
        }
        // Only a decision in a challenge that certifies a track can cost a
        // certificate: the others change no nomination.
        Event::SubmissionReviewed(r)
        | Event::SubmissionReviewOverturned(r)
        | Event::SubmissionRescored(r) => {
            if r.certifies_track.is_none() {
                return Ok(());
            }
            return withdraw_uncertified(tx, subject).await;
        }
        // A reactivated person's nominations were withdrawn and stay so;
        // the tier engine's automatic steps move no slot (a lead or a
        // demotion does); the challenge moves, profile changes and the
        // pods' own events are not the pods' to react to.
        Event::UserReactivated(_)
        | Event::TierChanged(_)
        | Event::ChallengeOpened(_)
        | Event::ChallengeJudging(_)
        | Event::ChallengeClosed(_)
        | Event::ChallengeCancelled(_)
        | Event::ProfileUpdated(_)
        | Event::PodAssigned(_)
        | Event::PodUnassigned(_)
        | Event::HandoffNominated(_)
        | Event::HandoffAccepted(_)
        | Event::HandoffDeclined(_)
        | Event::ReviewNeeded(_)
        | Event::ReviewClaimed(_)
        | Event::ReviewLeaseExpired(_)
        | Event::ReviewReleased(_)
        // One review of several decides nothing (the aggregate's events do).
        | Event::ReviewRecorded(_)
        | Event::ReviewTiebreakNeeded(_)
        // An upheld appeal's re-score is its `submission.rescored`.
        | Event::AppealFiled(_)
        | Event::AppealAnswered(_)
        | Event::CreditsMoved(_)
        | Event::CertificateIssued(_)
        | Event::CertificateRevoked(_) => return Ok(()),
    };
    let (track, from, to) = (d.track, d.from.get(), d.to.get());
    if from == 5 {
        #[derive(FromQueryResult)]
        struct Freed {
            id: Uuid,
            pod_id: Uuid,
        }
        let freed: Option<Freed> = db::fetch_one(
            tx,
            "SELECT id, pod_id FROM pod_slots WHERE talent_id = $1 AND track = $2",
            [subject.into(), track.into()],
        )
        .await?;
        if let Some(f) = freed {
            vacate(tx, f.id, subject).await?;
            freed_by_pods(tx, f.pod_id, f.id, subject, "demoted out of Tier 5").await?;
        }
    }
    if to < 4 {
        db::execute(
            tx,
            "UPDATE nominations SET status = 'withdrawn', decision_reason = 'the talent was demoted below Tier 4', \
             decided_at = $1 WHERE talent_id = $2 AND track = $3 AND status = 'pending'",
            [now().into(), subject.into(), track.into()],
        )
        .await?;
    }
    Ok(())
}

/// Announces a slot the pods freed themselves (no lead acted), with why.
async fn freed_by_pods<C: ConnectionTrait>(
    tx: &C,
    pod: Uuid,
    slot_id: Uuid,
    talent_id: Uuid,
    why: &str,
) -> Result<()> {
    let freed = PodUnassigned {
        slot_id,
        talent_id,
        reason: Some(why.to_owned()),
        slot: None,
    };
    events::record(tx, pod, Event::PodUnassigned(freed)).await
}

/// An erased person leaves their slot (the pod's history says so) and
/// their pending nominations are withdrawn.
async fn react_to_erasure<C: ConnectionTrait>(tx: &C, talent: Uuid) -> Result<()> {
    #[derive(FromQueryResult)]
    struct Freed {
        id: Uuid,
        pod_id: Uuid,
    }
    let freed: Vec<Freed> = db::fetch_all(
        tx,
        "SELECT id, pod_id FROM pod_slots WHERE talent_id = $1",
        [talent.into()],
    )
    .await?;
    for f in freed {
        if vacate(tx, f.id, talent).await? {
            freed_by_pods(
                tx,
                f.pod_id,
                f.id,
                talent,
                "the talent's account was erased",
            )
            .await?;
        }
    }
    withdraw_all(tx, talent, "the talent's account was erased").await
}

/// Withdraws every pending nomination of `talent`, with why.
async fn withdraw_all<C: ConnectionTrait>(tx: &C, talent: Uuid, why: &str) -> Result<()> {
    db::execute(
        tx,
        "UPDATE nominations SET status = 'withdrawn', decision_reason = $1, decided_at = $2 \
         WHERE talent_id = $3 AND status = 'pending'",
        [why.into(), now().into(), talent.into()],
    )
    .await?;
    Ok(())
}

/// After a review decision about `submission`: the author's pending
/// nominations in tracks where they hold no valid certificate any more
/// (the evidence it cited was overturned) are withdrawn.
async fn withdraw_uncertified<C: ConnectionTrait>(tx: &C, submission: Uuid) -> Result<()> {
    db::execute(
        tx,
        "UPDATE nominations SET status = 'withdrawn', \
           decision_reason = 'the certificate was revoked: the evidence it cited was overturned', decided_at = $1 \
         WHERE status = 'pending' AND talent_id = (SELECT talent_id FROM submissions WHERE id = $2) \
         AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.talent_id = nominations.talent_id \
           AND c.track = nominations.track AND c.status = 'valid')",
        [now().into(), submission.into()],
    )
    .await?;
    Ok(())
}

/// Opens a slot `talent` fills (guarded by the occupant); whether it did.
async fn vacate<C: ConnectionTrait>(tx: &C, slot: Uuid, talent: Uuid) -> Result<bool> {
    let n = db::execute(
        tx,
        "UPDATE pod_slots SET status = 'open', talent_id = NULL, filled_at = NULL WHERE id = $1 AND talent_id = $2",
        [slot.into(), talent.into()],
    )
    .await?;
    Ok(n == 1)
}

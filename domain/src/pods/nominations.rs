//! The Tier 4 → 5 handoff. A community manager nominates a Tier 4 talent
//! (optionally for an open slot of the track); the generative lead reads
//! the nomination with its evidence in one call and accepts it into an open
//! slot of the same track — the talent becomes Tier 5, the slot filled, the
//! nomination accepted, history, audit and event written in one
//! transaction — or declines it with a reason. A pending nomination expires
//! after the configured time.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DeriveActiveEnum, EnumIter, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PodStatus, SlotStatus};
use crate::challenges::{self, TalentBulkRun};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::events::{self, Event, HandoffAccepted};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{self, Allowed, DecideHandoffs, NominateTalents, ViewTalentEngine};
use crate::tiers::{self, Certificate, TierChange};
use crate::types::{Limit, Text, Track};
use crate::{audit, new_id, now, verification};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum NominationStatus {
    Pending,
    Accepted,
    Declined,
    Expired,
    /// Before a decision the talent left Tier 4 in the track, lost the
    /// certificate, or was suspended or erased.
    Withdrawn,
}

impl NominationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Expired => "expired",
            Self::Withdrawn => "withdrawn",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct Nomination {
    pub id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    /// The slot it was nominated for, if any.
    #[schema(required = true)]
    pub slot_id: Option<Uuid>,
    pub note: String,
    /// `expired` once `expires_at` has passed while pending.
    pub status: NominationStatus,
    pub nominated_by: Uuid,
    #[schema(required = true)]
    pub decided_by: Option<Uuid>,
    /// A decline's reason.
    #[schema(required = true)]
    pub decision_reason: Option<String>,
    /// The slot the talent was placed in.
    #[schema(required = true)]
    pub placed_slot_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub decided_at: Option<DateTime<Utc>>,
}

impl Nomination {
    /// A pending nomination past its expiry reads as expired, job or not.
    fn seen_at(mut self, at: DateTime<Utc>) -> Self {
        if self.status == NominationStatus::Pending && self.expires_at <= at {
            self.status = NominationStatus::Expired;
        }
        self
    }
}

async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Nomination> {
    let n: Nomination = db::fetch_one(db, "SELECT * FROM nominations WHERE id = $1", [id.into()])
        .await?
        .ok_or(DomainError::NotFound("nomination"))?;
    Ok(n.seen_at(now()))
}

/// A nomination as a manager sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NominationSpec {
    pub talent_id: Uuid,
    pub track: Track,
    /// An open slot of `track` to nominate for (optional).
    #[serde(default)]
    pub slot_id: Option<Uuid>,
    /// Why this talent, for the lead (up to 2,000 characters).
    #[serde(default)]
    #[schema(example = "Strongest certification piece this quarter; ready for client work.")]
    pub note: String,
}

/// A valid certificate in the track (422 `certificate_required`): Tier 4
/// without one is not enough to be nominated or accepted.
async fn require_certificate<C: ConnectionTrait>(tx: &C, talent: Uuid, track: Track) -> Result<()> {
    match tiers::valid_certificate(tx, talent, track).await? {
        Some(_) => Ok(()),
        None => Err(DomainError::CertificateRequired(track)),
    }
}

/// Nominates a Tier 4 talent. A suspended or erased account is 422
/// `account_not_active`; Tier 3 (or 5) is 422 `not_tier_four`; Tier 4
/// without a valid certificate in the track 422 `certificate_required`; a
/// second pending nomination of the talent in the track is 409; never
/// oneself.
pub async fn nominate(
    db: &DatabaseConnection,
    allowed: &Allowed<NominateTalents>,
    idem: Option<&Idempotency>,
    spec: NominationSpec,
    ttl: Duration,
) -> Result<Nomination> {
    let me = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a nomination by a service"))?;
    policy::may_change_tier_of(allowed.caller(), spec.talent_id)?;
    let note =
        Text::parse("note", &spec.note, 0, 2000).map_err(|e| DomainError::Validation(vec![e]))?;
    idempotency::run_optional(db, idem, "handoff.nominate", &spec, async |tx| {
        if !db::exists(
            tx,
            "SELECT 1 FROM users WHERE id = $1",
            [spec.talent_id.into()],
        )
        .await?
        {
            return Err(DomainError::NotFound("talent"));
        }
        tiers::lock_talent(tx, spec.talent_id).await?;
        verification::require_active(tx, spec.talent_id).await?;
        verification::require_verified(tx, spec.talent_id).await?;
        let tier = tiers::tier_for(tx, spec.talent_id, Some(spec.track))
            .await?
            .get();
        if tier != 4 {
            return Err(DomainError::NotTierFour(tier));
        }
        require_certificate(tx, spec.talent_id, spec.track).await?;
        if db::exists(
            tx,
            "SELECT 1 FROM pod_slots WHERE talent_id = $1",
            [spec.talent_id.into()],
        )
        .await?
        {
            return Err(DomainError::TalentPlaced);
        }
        if let Some(slot) = spec.slot_id {
            let s = super::slot_by_id(tx, slot)
                .await?
                .ok_or_else(|| DomainError::field("slot_id", "no such slot"))?;
            if s.track != spec.track {
                return Err(DomainError::field(
                    "slot_id",
                    &format!(
                        "the slot is for {}, not {}",
                        s.track.as_str(),
                        spec.track.as_str()
                    ),
                ));
            }
            if s.status != SlotStatus::Open {
                return Err(DomainError::SlotFilled);
            }
        }
        let at = now();
        // A pending one past its expiry no longer blocks.
        db::execute(
            tx,
            "UPDATE nominations SET status = 'expired' WHERE talent_id = $1 AND track = $2 AND status = 'pending' AND expires_at <= $3",
            [spec.talent_id.into(), spec.track.into(), at.into()],
        )
        .await?;
        if db::exists(
            tx,
            "SELECT 1 FROM nominations WHERE talent_id = $1 AND track = $2 AND status = 'pending'",
            [spec.talent_id.into(), spec.track.into()],
        )
        .await?
        {
            return Err(DomainError::NominationPending);
        }
        let id = new_id();
        db::execute(
            tx,
            "INSERT INTO nominations (id, talent_id, track, slot_id, note, status, nominated_by, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)",
            [
                id.into(),
                spec.talent_id.into(),
                spec.track.into(),
                spec.slot_id.into(),
                note.as_str().into(),
                me.into(),
                (at + ttl).into(),
                at.into(),
            ],
        )
        .await?;
        let n = find(tx, id).await?;
        let view = Some(audit::json(&n));
        let nominated = Event::HandoffNominated(n.clone());
        events::record_staff_action(tx, allowed.caller().actor(), id, nominated, None, view)
            .await?;
        Ok(n)
    })
    .await
}

/// Filters of the nominations list.
#[derive(Debug, Default)]
pub struct NominationFilter {
    pub status: Option<NominationStatus>,
    pub track: Option<Track>,
}

/// A talent's nominations, newest first (for the talent's own export).
pub async fn nominations_of<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Vec<Nomination>> {
    let at = now();
    let rows: Vec<Nomination> = db::fetch_all(
        db,
        "SELECT * FROM nominations WHERE talent_id = $1 ORDER BY id DESC",
        [talent.into()],
    )
    .await?;
    Ok(rows.into_iter().map(|n| n.seen_at(at)).collect())
}

/// Nominations, newest first (staff). `pending` lists those not yet expired.
pub async fn list_nominations(
    db: &DatabaseConnection,
    _allowed: &Allowed<ViewTalentEngine>,
    filter: &NominationFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Nomination>> {
    let before: Option<Uuid> = page::decode(cursor)?;
    let at = now();
    let mut b = SqlBuilder::new("SELECT * FROM nominations WHERE 1 = 1");
    match filter.status {
        Some(NominationStatus::Pending) => {
            let p = b.bind(at);
            b.push(&format!(" AND status = 'pending' AND expires_at > {p}"));
        }
        Some(NominationStatus::Expired) => {
            let p = b.bind(at);
            b.push(&format!(
                " AND (status = 'expired' OR (status = 'pending' AND expires_at <= {p}))"
            ));
        }
        Some(s) => {
            let p = b.bind(s);
            b.push(&format!(" AND status = {p}"));
        }
        None => {}
    }
    if let Some(t) = filter.track {
        let p = b.bind(t);
        b.push(&format!(" AND track = {p}"));
    }
    if let Some(before) = before {
        let p = b.bind(before);
        b.push(&format!(" AND id < {p}"));
    }
    b.push(&format!(" ORDER BY id DESC LIMIT {}", limit.get() + 1));
    let rows: Vec<Nomination> = db::fetch_all(db, &b.sql, b.values).await?;
    let rows = rows.into_iter().map(|n| n.seen_at(at)).collect();
    Ok(Page::from_rows(rows, limit.get(), |n: &Nomination| {
        n.id.to_string()
    }))
}

/// An accepted submission with its review, as evidence.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct AcceptedWork {
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    pub challenge_title: String,
    #[schema(required = true)]
    pub track: Option<Track>,
    /// The submission's weighted total, 0–100: its review's, or with
    /// several reviewers their aggregate.
    pub score: f64,
    /// The review that decided it (with several reviewers, the one whose
    /// arrival gave or last changed the aggregate).
    pub review_id: Uuid,
    pub reviewed_at: DateTime<Utc>,
}

/// A nomination with everything the lead decides on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NominationDetail {
    pub nomination: Nomination,
    /// The talent's valid certificate in the track.
    #[schema(required = true)]
    pub certificate: Option<Certificate>,
    /// The talent's accepted submissions with their review scores, best first (up to 20).
    pub accepted_submissions: Vec<AcceptedWork>,
    pub bulk_run: TalentBulkRun,
    /// The talent's tier history in the track, newest first (up to 20).
    pub tier_history: Vec<TierChange>,
}

pub async fn get_nomination(
    db: &DatabaseConnection,
    allowed: &Allowed<ViewTalentEngine>,
    id: Uuid,
) -> Result<NominationDetail> {
    let n = find(db, id).await?;
    let accepted: Vec<AcceptedWork> = db::fetch_all(
        db,
        "SELECT s.id AS submission_id, s.challenge_id, c.title AS challenge_title, c.track, s.score, \
         r.id AS review_id, r.created_at AS reviewed_at \
         FROM submissions s JOIN challenges c ON c.id = s.challenge_id JOIN reviews r ON r.id = s.review_id \
         WHERE s.talent_id = $1 AND s.status = 'accepted' ORDER BY s.score DESC, s.id LIMIT 20",
        [n.talent_id.into()],
    )
    .await?;
    let history = tiers::tier_history(
        db,
        allowed.caller(),
        n.talent_id,
        Some(n.track),
        None,
        Limit::parse(Some(20)).map_err(|e| DomainError::Validation(vec![e]))?,
    )
    .await?;
    Ok(NominationDetail {
        certificate: tiers::valid_certificate(db, n.talent_id, n.track).await?,
        accepted_submissions: accepted,
        bulk_run: challenges::bulk_run_of_talent(db, n.talent_id).await?,
        tier_history: history.items,
        nomination: n,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptSpec {
    /// An open slot of the nomination's track.
    pub slot_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineSpec {
    /// Why, for the manager and the record (required).
    #[schema(
        example = "Strong work, but we need more video experience; nominate again after the next certification round."
    )]
    pub reason: String,
}

fn pending(n: &Nomination) -> Result<()> {
    match n.status {
        NominationStatus::Pending => Ok(()),
        s => Err(DomainError::NominationNotPending(s.as_str())),
    }
}

/// Accepts a nomination into an open slot of its track: Tier 5, the slot
/// filled, the nomination accepted — one transaction. Of racing accepts for
/// one slot (or one talent) exactly one lands; the others get 409. A
/// talent whose account is suspended or erased is 422 `account_not_active`
/// (whatever became of the nomination); one without a valid certificate in
/// the track 422 `certificate_required`.
pub async fn accept(
    db: &DatabaseConnection,
    allowed: &Allowed<DecideHandoffs>,
    idem: Option<&Idempotency>,
    id: Uuid,
    spec: AcceptSpec,
) -> Result<Nomination> {
    let lead = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a decision by a service"))?;
    idempotency::run_optional(db, idem, "handoff.accept", &serde_json::json!({ "nomination": id, "accept": spec }), async |tx| {
        let n = find(tx, id).await?;
        policy::may_change_tier_of(allowed.caller(), n.talent_id)?;
        policy::may_decide_nomination(allowed.caller(), n.nominated_by)?;
        tiers::lock_talent(tx, n.talent_id).await?;
        verification::require_active(tx, n.talent_id).await?;
        let n = find(tx, id).await?;
        pending(&n)?;
        require_certificate(tx, n.talent_id, n.track).await?;
        if db::exists(
            tx,
            "SELECT 1 FROM pod_slots WHERE talent_id = $1",
            [n.talent_id.into()],
        )
        .await?
        {
            return Err(DomainError::TalentPlaced);
        }
        let slot = super::slot_by_id(tx, spec.slot_id)
            .await?
            .ok_or_else(|| DomainError::field("slot_id", "no such slot"))?;
        if slot.track != n.track {
            return Err(DomainError::field(
                "slot_id",
                &format!(
                    "the slot is for {}, not {}",
                    slot.track.as_str(),
                    n.track.as_str()
                ),
            ));
        }
        super::lock_pod(tx, slot.pod_id).await?;
        let pod = super::pod_row(tx, slot.pod_id).await?;
        if pod.status == PodStatus::Closed {
            return Err(DomainError::PodClosed("closed"));
        }
        let at = now();
        let filled = db::execute(
            tx,
            "UPDATE pod_slots SET status = 'filled', talent_id = $1, filled_at = $2 WHERE id = $3 AND status = 'open'",
            [n.talent_id.into(), at.into(), slot.id.into()],
        )
        .await?;
        if filled == 0 {
            return Err(DomainError::SlotFilled);
        }
        let evidence =
            serde_json::json!({ "nomination_id": n.id, "pod_id": pod.id, "slot_id": slot.id });
        tiers::place_at_five(
            tx,
            n.talent_id,
            n.track,
            lead,
            &format!("accepted into pod {} by the generative lead", pod.name),
            evidence,
        )
        .await?;
        let decided = db::execute(
            tx,
            "UPDATE nominations SET status = 'accepted', decided_by = $1, decided_at = $2, placed_slot_id = $3 \
             WHERE id = $4 AND status = 'pending' AND expires_at > $2",
            [lead.into(), at.into(), slot.id.into(), n.id.into()],
        )
        .await?;
        if decided == 0 {
            return Err(DomainError::NominationNotPending("decided or expired"));
        }
        let after = find(tx, id).await?;
        let (before, view) = (Some(audit::json(&n)), Some(audit::json(&after)));
        let accepted = Event::HandoffAccepted(HandoffAccepted {
            nomination: after.clone(),
            pod_id: pod.id,
            slot_id: slot.id,
        });
        events::record_staff_action(tx, allowed.caller().actor(), id, accepted, before, view)
            .await?;
        Ok(after)
    })
    .await
}

/// Declines with a reason; the talent stays Tier 4 and can be nominated again.
pub async fn decline(
    db: &DatabaseConnection,
    allowed: &Allowed<DecideHandoffs>,
    idem: Option<&Idempotency>,
    id: Uuid,
    spec: DeclineSpec,
) -> Result<Nomination> {
    let lead = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a decision by a service"))?;
    let reason = Text::parse("reason", &spec.reason, 1, 2000)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    idempotency::run_optional(db, idem, "handoff.decline", &serde_json::json!({ "nomination": id, "decline": spec }), async |tx| {
        let n = find(tx, id).await?;
        policy::may_decide_nomination(allowed.caller(), n.nominated_by)?;
        pending(&n)?;
        let at = now();
        let decided = db::execute(
            tx,
            "UPDATE nominations SET status = 'declined', decided_by = $1, decided_at = $2, decision_reason = $3 \
             WHERE id = $4 AND status = 'pending' AND expires_at > $2",
            [lead.into(), at.into(), reason.as_str().into(), id.into()],
        )
        .await?;
        if decided == 0 {
            return Err(DomainError::NominationNotPending(
                find(tx, id).await?.status.as_str(),
            ));
        }
        let after = find(tx, id).await?;
        let (before, view) = (Some(audit::json(&n)), Some(audit::json(&after)));
        let declined = Event::HandoffDeclined(after.clone());
        events::record_staff_action(tx, allowed.caller().actor(), id, declined, before, view)
            .await?;
        Ok(after)
    })
    .await
}

/// Marks pending nominations past their expiry as expired (the job).
pub async fn expire_nominations(db: &DatabaseConnection) -> Result<u64> {
    Ok(db::execute(
        db,
        "UPDATE nominations SET status = 'expired' WHERE status = 'pending' AND expires_at <= $1",
        [now().into()],
    )
    .await?)
}

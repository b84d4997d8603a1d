//! Every kind of domain event, with its typed payload. The tag (`type`) is
//! the dotted name stored in `events.type` since the outbox began, so rows
//! written before these types existed still decode. A payload grows only by
//! optional fields; a renamed field or kind is a new kind.
//!
//! Consumers (the reactions in `tiers` and `pods`, and what "events out"
//! publishes) match [`Event`] without a wildcard arm: a new kind does not
//! compile until each of them has decided what it means.

use chrono::{DateTime, Utc};
use sea_orm::EnumIter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::challenges::{
    Appeal, ChallengeStatus, Claim, Decision, Outcome, Review, ReviewRecorded, ReviewsNeeded,
    TiebreakNeeded,
};
use crate::enums::TransactionKind;
use crate::pods::{Nomination, Slot};
use crate::tiers::TierChange;
use crate::types::{Amount, Tier, Track, UserStatus};

/// One thing that happened, as the outbox stores it: `type` names the kind,
/// `payload` carries its data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "payload")]
pub enum Event {
    /// A submission's first decision: its review, or with several
    /// reviewers per submission their aggregate (`outcome`).
    #[serde(rename = "submission.reviewed")]
    SubmissionReviewed(ReviewDecided),
    /// A review that replaced the submission's current one (one reviewer
    /// per submission).
    #[serde(rename = "submission.review_overturned")]
    SubmissionReviewOverturned(ReviewDecided),
    /// With several reviewers per submission: a later review (an overturn,
    /// or the tiebreak an overturn made necessary) changed the aggregate
    /// outcome (`outcome`); with any number, an upheld appeal's re-score
    /// (`review`) changed the submission's outcome.
    #[serde(rename = "submission.rescored")]
    SubmissionRescored(ReviewDecided),
    #[serde(rename = "challenge.open")]
    ChallengeOpened(ChallengeMoved),
    #[serde(rename = "challenge.judging")]
    ChallengeJudging(ChallengeMoved),
    #[serde(rename = "challenge.closed")]
    ChallengeClosed(ChallengeMoved),
    #[serde(rename = "challenge.cancelled")]
    ChallengeCancelled(ChallengeMoved),
    /// A person changed their profile.
    #[serde(rename = "profile.updated")]
    ProfileUpdated(ProfileUpdated),
    #[serde(rename = "user.suspended")]
    UserSuspended(StatusChanged),
    #[serde(rename = "user.reactivated")]
    UserReactivated(StatusChanged),
    /// A person's account was erased (their data scrubbed).
    #[serde(rename = "user.erased")]
    UserErased(UserErased),
    /// One step of a talent's tier in a track (any cause).
    #[serde(rename = "tier.changed")]
    TierChanged(TierChange),
    /// Staff demoted a talent (a `tier.changed` follows).
    #[serde(rename = "tier.demoted")]
    TierDemoted(TierDemoted),
    #[serde(rename = "pod.assigned")]
    PodAssigned(PodAssigned),
    #[serde(rename = "pod.unassigned")]
    PodUnassigned(PodUnassigned),
    #[serde(rename = "handoff.nominated")]
    HandoffNominated(Nomination),
    #[serde(rename = "handoff.accepted")]
    HandoffAccepted(HandoffAccepted),
    #[serde(rename = "handoff.declined")]
    HandoffDeclined(Nomination),
    /// A challenge's submissions need reviews: their seats opened.
    #[serde(rename = "review.needed")]
    ReviewNeeded(ReviewsNeeded),
    /// A reviewer claimed a review seat from the queue.
    #[serde(rename = "review.claimed")]
    ReviewClaimed(Claim),
    /// A claim's lease ran out: the seat is back in the queue.
    #[serde(rename = "review.lease_expired")]
    ReviewLeaseExpired(Claim),
    /// A claim was given back before its lease ran out.
    #[serde(rename = "review.released")]
    ReviewReleased(ClaimReleased),
    /// With several reviewers per submission: a review filled one of its
    /// seats (or replaced a seat's review). The submission's decision is
    /// the aggregate, announced apart (`submission.reviewed`, `.rescored`).
    #[serde(rename = "review.recorded")]
    ReviewRecorded(ReviewRecorded),
    /// The regular reviews disagree: the tiebreak seat opened in the queue.
    #[serde(rename = "review.tiebreak_needed")]
    ReviewTiebreakNeeded(TiebreakNeeded),
    /// A talent appealed one criterion of a review of their submission.
    #[serde(rename = "appeal.filed")]
    AppealFiled(Appeal),
    /// An appeal was upheld (a `submission.rescored` follows when the
    /// re-score changed the outcome) or denied.
    #[serde(rename = "appeal.answered")]
    AppealAnswered(Appeal),
    /// A ledger transaction moved a talent's posted credits (a grant, the
    /// allowance, a reward or prize, a spend, a capture, a reversal, a
    /// clawback). Holds placed, released or expired move no posted credits
    /// and are not announced.
    #[serde(rename = "credits.moved")]
    CreditsMoved(CreditsMoved),
    /// A certificate was issued (a certification, or a re-issue on other
    /// evidence).
    #[serde(rename = "certificate.issued")]
    CertificateIssued(CertificateIssued),
    /// A certificate was revoked (a demotion below Tier 4, its evidence
    /// overturned or replaced, an erasure).
    #[serde(rename = "certificate.revoked")]
    CertificateRevoked(CertificateRevoked),
}

/// The kinds of [`Event`], without their data: what a list of kinds, a
/// subscription filter or the committed schema names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter)]
pub enum EventKind {
    SubmissionReviewed,
    SubmissionReviewOverturned,
    SubmissionRescored,
    ChallengeOpened,
    ChallengeJudging,
    ChallengeClosed,
    ChallengeCancelled,
    ProfileUpdated,
    UserSuspended,
    UserReactivated,
    UserErased,
    TierChanged,
    TierDemoted,
    PodAssigned,
    PodUnassigned,
    HandoffNominated,
    HandoffAccepted,
    HandoffDeclined,
    ReviewNeeded,
    ReviewClaimed,
    ReviewLeaseExpired,
    ReviewReleased,
    ReviewRecorded,
    ReviewTiebreakNeeded,
    AppealFiled,
    AppealAnswered,
    CreditsMoved,
    CertificateIssued,
    CertificateRevoked,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            Self::SubmissionReviewed(_) => K::SubmissionReviewed,
            Self::SubmissionReviewOverturned(_) => K::SubmissionReviewOverturned,
            Self::SubmissionRescored(_) => K::SubmissionRescored,
            Self::ChallengeOpened(_) => K::ChallengeOpened,
            Self::ChallengeJudging(_) => K::ChallengeJudging,
            Self::ChallengeClosed(_) => K::ChallengeClosed,
            Self::ChallengeCancelled(_) => K::ChallengeCancelled,
            Self::ProfileUpdated(_) => K::ProfileUpdated,
            Self::UserSuspended(_) => K::UserSuspended,
            Self::UserReactivated(_) => K::UserReactivated,
            Self::UserErased(_) => K::UserErased,
            Self::TierChanged(_) => K::TierChanged,
            Self::TierDemoted(_) => K::TierDemoted,
            Self::PodAssigned(_) => K::PodAssigned,
            Self::PodUnassigned(_) => K::PodUnassigned,
            Self::HandoffNominated(_) => K::HandoffNominated,
            Self::HandoffAccepted(_) => K::HandoffAccepted,
            Self::HandoffDeclined(_) => K::HandoffDeclined,
            Self::ReviewNeeded(_) => K::ReviewNeeded,
            Self::ReviewClaimed(_) => K::ReviewClaimed,
            Self::ReviewLeaseExpired(_) => K::ReviewLeaseExpired,
            Self::ReviewReleased(_) => K::ReviewReleased,
            Self::ReviewRecorded(_) => K::ReviewRecorded,
            Self::ReviewTiebreakNeeded(_) => K::ReviewTiebreakNeeded,
            Self::AppealFiled(_) => K::AppealFiled,
            Self::AppealAnswered(_) => K::AppealAnswered,
            Self::CreditsMoved(_) => K::CreditsMoved,
            Self::CertificateIssued(_) => K::CertificateIssued,
            Self::CertificateRevoked(_) => K::CertificateRevoked,
        }
    }

    /// A review decision: `submission.reviewed` for the first,
    /// `submission.review_overturned` when it replaced one.
    pub fn review_decided(d: ReviewDecided) -> Self {
        match d.previous_decision {
            None => Self::SubmissionReviewed(d),
            Some(_) => Self::SubmissionReviewOverturned(d),
        }
    }

    /// A challenge's move, named by where it went. No move leads to a
    /// draft: asking for one is a bug.
    pub fn challenge_moved(m: ChallengeMoved) -> Option<Self> {
        match m.to {
            ChallengeStatus::Draft => None,
            ChallengeStatus::Open => Some(Self::ChallengeOpened(m)),
            ChallengeStatus::Judging => Some(Self::ChallengeJudging(m)),
            ChallengeStatus::Closed => Some(Self::ChallengeClosed(m)),
            ChallengeStatus::Cancelled => Some(Self::ChallengeCancelled(m)),
        }
    }
}

impl EventKind {
    /// The stored and published name (`events.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SubmissionReviewed => "submission.reviewed",
            Self::SubmissionReviewOverturned => "submission.review_overturned",
            Self::SubmissionRescored => "submission.rescored",
            Self::ChallengeOpened => "challenge.open",
            Self::ChallengeJudging => "challenge.judging",
            Self::ChallengeClosed => "challenge.closed",
            Self::ChallengeCancelled => "challenge.cancelled",
            Self::ProfileUpdated => "profile.updated",
            Self::UserSuspended => "user.suspended",
            Self::UserReactivated => "user.reactivated",
            Self::UserErased => "user.erased",
            Self::TierChanged => "tier.changed",
            Self::TierDemoted => "tier.demoted",
            Self::PodAssigned => "pod.assigned",
            Self::PodUnassigned => "pod.unassigned",
            Self::HandoffNominated => "handoff.nominated",
            Self::HandoffAccepted => "handoff.accepted",
            Self::HandoffDeclined => "handoff.declined",
            Self::ReviewNeeded => "review.needed",
            Self::ReviewClaimed => "review.claimed",
            Self::ReviewLeaseExpired => "review.lease_expired",
            Self::ReviewReleased => "review.released",
            Self::ReviewRecorded => "review.recorded",
            Self::ReviewTiebreakNeeded => "review.tiebreak_needed",
            Self::AppealFiled => "appeal.filed",
            Self::AppealAnswered => "appeal.answered",
            Self::CreditsMoved => "credits.moved",
            Self::CertificateIssued => "certificate.issued",
            Self::CertificateRevoked => "certificate.revoked",
        }
    }

    /// What the event's subject id names (`events.subject_type`).
    pub fn subject_type(self) -> &'static str {
        match self {
            Self::SubmissionReviewed
            | Self::SubmissionReviewOverturned
            | Self::SubmissionRescored => "submission",
            Self::ChallengeOpened
            | Self::ChallengeJudging
            | Self::ChallengeClosed
            | Self::ChallengeCancelled => "challenge",
            Self::ProfileUpdated
            | Self::UserSuspended
            | Self::UserReactivated
            | Self::UserErased => "user",
            Self::TierChanged | Self::TierDemoted => "talent",
            Self::PodAssigned | Self::PodUnassigned => "pod",
            Self::HandoffNominated | Self::HandoffAccepted | Self::HandoffDeclined => "nomination",
            Self::ReviewNeeded => "challenge",
            Self::ReviewClaimed
            | Self::ReviewLeaseExpired
            | Self::ReviewReleased
            | Self::ReviewRecorded
            | Self::ReviewTiebreakNeeded
            | Self::AppealFiled
            | Self::AppealAnswered => "submission",
            Self::CreditsMoved => "talent",
            Self::CertificateIssued | Self::CertificateRevoked => "certificate",
        }
    }

    /// The audit log's action when staff cause this event directly (the
    /// helper that writes both takes it from here), or `None` for events
    /// no staff action announces on its own (a person's own change, the
    /// tier engine's steps, the clock, erasure, a status change that is
    /// part of a wider account update).
    pub fn staff_action(self) -> Option<&'static str> {
        match self {
            Self::SubmissionReviewed | Self::SubmissionReviewOverturned | Self::ReviewRecorded => {
                Some("submission.review")
            }
            Self::ChallengeOpened
            | Self::ChallengeJudging
            | Self::ChallengeClosed
            | Self::ChallengeCancelled => Some("challenge.transition"),
            Self::TierDemoted => Some("tier.demote"),
            Self::AppealAnswered => Some("appeal.answer"),
            Self::PodAssigned => Some("pod.assign"),
            Self::PodUnassigned => Some("pod.unassign"),
            Self::HandoffNominated => Some("handoff.nominate"),
            Self::HandoffAccepted => Some("handoff.accept"),
            Self::HandoffDeclined => Some("handoff.decline"),
            // The queue's steps are operations, not decisions: the events
            // are their record (a busy queue would drown the audit log).
            Self::ProfileUpdated
            | Self::UserSuspended
            | Self::UserReactivated
            | Self::UserErased
            | Self::TierChanged
            | Self::ReviewNeeded
            | Self::ReviewClaimed
            | Self::ReviewLeaseExpired
            | Self::ReviewReleased
            // An aggregate's outcome and the tiebreak it needs follow from
            // a review (audited as `review.recorded`), not a staff action.
            | Self::SubmissionRescored
            | Self::ReviewTiebreakNeeded
            // A talent's own act.
            | Self::AppealFiled
            // The books and the certificates are their own record (the
            // staff action that caused them, if any, is audited apart).
            | Self::CreditsMoved
            | Self::CertificateIssued
            | Self::CertificateRevoked => None,
        }
    }

    /// The name of the payload's schema in the committed event document.
    pub fn payload_schema(self) -> &'static str {
        match self {
            Self::SubmissionReviewed
            | Self::SubmissionReviewOverturned
            | Self::SubmissionRescored => "ReviewDecided",
            Self::ChallengeOpened
            | Self::ChallengeJudging
            | Self::ChallengeClosed
            | Self::ChallengeCancelled => "ChallengeMoved",
            Self::ProfileUpdated => "ProfileUpdated",
            Self::UserSuspended | Self::UserReactivated => "StatusChanged",
            Self::UserErased => "UserErased",
            Self::TierChanged => "TierChange",
            Self::TierDemoted => "TierDemoted",
            Self::PodAssigned => "PodAssigned",
            Self::PodUnassigned => "PodUnassigned",
            Self::HandoffNominated | Self::HandoffDeclined => "Nomination",
            Self::HandoffAccepted => "HandoffAccepted",
            Self::ReviewNeeded => "ReviewsNeeded",
            Self::ReviewClaimed | Self::ReviewLeaseExpired => "Claim",
            Self::ReviewReleased => "ClaimReleased",
            Self::ReviewRecorded => "ReviewRecorded",
            Self::ReviewTiebreakNeeded => "TiebreakNeeded",
            Self::AppealFiled | Self::AppealAnswered => "Appeal",
            Self::CreditsMoved => "CreditsMoved",
            Self::CertificateIssued => "CertificateIssued",
            Self::CertificateRevoked => "CertificateRevoked",
        }
    }
}

/// A review decision and what the reactions need to know of its challenge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewDecided {
    pub review: Review,
    /// The decision it replaced; null for a first review.
    #[schema(required = true)]
    pub previous_decision: Option<Decision>,
    /// The challenge's track, if it has one.
    #[schema(required = true)]
    pub track: Option<Track>,
    /// The track the challenge certifies, if it does.
    #[schema(required = true)]
    pub certifies_track: Option<Track>,
    /// With several reviewers per submission: the submission's outcome,
    /// aggregated from its reviews (`review` is the one whose arrival gave
    /// or changed it; `previous_decision` the submission's decision before).
    /// Absent with one reviewer, whose review is the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A challenge's move from one status to another.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChallengeMoved {
    pub from: ChallengeStatus,
    pub to: ChallengeStatus,
    /// A cancellation's reason (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub by: MovedBy,
    /// What a close paid (only on `challenge.closed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prizes: Option<Vec<PrizePaid>>,
}

/// Who moved a challenge: the clock (`"clock"`), or the caller's id (null
/// for a caller without one, such as the CLI).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MovedBy {
    Clock(Clock),
    Caller(Option<Uuid>),
}

/// The challenge clock, as a mover.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    Clock,
}

/// One prize a close paid.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrizePaid {
    /// 1 for the winner.
    pub place: u32,
    pub talent_id: Uuid,
    pub submission_id: Uuid,
    #[schema(value_type = i64)]
    pub amount: Amount,
    pub transaction_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProfileUpdated {
    /// Whether the profile is now complete (a Tier 1 requirement).
    pub profile_complete: bool,
}

/// A suspension or reactivation by staff.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusChanged {
    pub from: UserStatus,
    pub to: UserStatus,
}

/// An erasure carries nothing: the subject id is all that is left.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserErased {}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TierDemoted {
    pub track: Track,
    #[schema(value_type = i16)]
    pub from: Tier,
    #[schema(value_type = i16)]
    pub to: Tier,
}

/// A Tier 5 talent placed in a slot, from the bench or another slot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PodAssigned {
    /// The slot as it is now (filled).
    pub slot: Slot,
    /// The slot the talent moved from, if they were placed already.
    #[schema(required = true)]
    pub from_slot_id: Option<Uuid>,
}

/// A talent left a slot: unassigned by the generative lead (with the slot
/// as it is now), or freed by a demotion out of Tier 5 or an erasure
/// (with why).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "PodUnassignedWire")]
pub struct PodUnassigned {
    pub slot_id: Uuid,
    pub talent_id: Uuid,
    /// Why, when the pods freed the slot themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The slot after the lead's unassignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
}

/// How `pod.unassigned` was written before it carried `slot_id` always.
#[derive(Deserialize)]
struct PodUnassignedWire {
    slot_id: Option<Uuid>,
    talent_id: Uuid,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    slot: Option<Slot>,
}

impl TryFrom<PodUnassignedWire> for PodUnassigned {
    type Error = &'static str;
    fn try_from(w: PodUnassignedWire) -> Result<Self, Self::Error> {
        let slot_id = w
            .slot_id
            .or(w.slot.as_ref().map(|s| s.id))
            .ok_or("pod.unassigned names no slot")?;
        Ok(Self {
            slot_id,
            talent_id: w.talent_id,
            reason: w.reason,
            slot: w.slot,
        })
    }
}

/// A nomination the generative lead accepted, and where the talent went.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HandoffAccepted {
    pub nomination: Nomination,
    pub pod_id: Uuid,
    pub slot_id: Uuid,
}

/// A claim given back, and by whom (its holder, or an admin).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimReleased {
    pub claim: Claim,
    #[schema(required = true)]
    pub released_by: Option<Uuid>,
}

/// One ledger transaction as it moved a talent's posted credits: no memo
/// (free text), only what the books say.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditsMoved {
    pub transaction_id: Uuid,
    pub talent_id: Uuid,
    pub kind: TransactionKind,
    /// Signed, from the talent's side: positive credits in, negative out.
    pub amount: i64,
    /// The talent's posted balance after it.
    pub balance_after: i64,
}

/// A certificate issued at Tier 4.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertificateIssued {
    pub certificate_id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    /// The certificate it replaces (a re-issue on other evidence).
    #[schema(required = true)]
    pub replaces: Option<Uuid>,
}

/// A certificate revoked, and why (a code, not the person's words).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertificateRevoked {
    pub certificate_id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    pub cause: RevocationCause,
}

/// Why a certificate was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCause {
    /// Staff demoted the talent below Tier 4.
    Demoted,
    /// The accepted work it cited was overturned and nothing else stands.
    EvidenceOverturned,
    /// Re-issued on other accepted work (`certificate.issued` follows).
    Replaced,
    /// The holder's account was erased.
    Erased,
}

/// A stored event, decoded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredEvent {
    pub id: Uuid,
    pub subject_type: String,
    pub subject_id: Uuid,
    #[serde(flatten)]
    pub event: Event,
    pub created_at: DateTime<Utc>,
}

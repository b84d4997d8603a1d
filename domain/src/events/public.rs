//! The one outward form of an event — what webhooks deliver, the pull API
//! and the live stream serve: `{type, timestamp, data}` with **thin** data
//! (ids, statuses, amounts, tiers, tracks, scores and decisions), never an
//! email, name, handle or free text, so an erasure leaves nothing behind at
//! a receiver and a receiver asks the API for what it may see.
//!
//! [`public`] matches [`Event`] without a wildcard arm: a new kind does not
//! compile until it has decided its thin data (and `data_schema` its schema).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds::{
    ChallengeMoved, ClaimReleased, Event, EventKind, MovedBy, RevocationCause, StoredEvent,
};
use crate::challenges::{AppealStatus, ChallengeStatus, Claim, Decision, Disagreement, SeatKind};
use crate::enums::TransactionKind;
use crate::pods::{Nomination, NominationStatus};
use crate::types::{Track, UserStatus};

/// An event as the world outside sees it (the Standard Webhooks payload).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicEvent {
    /// The dotted kind (`submission.reviewed`, `tier.changed`…).
    #[serde(rename = "type")]
    pub r#type: String,
    /// When it happened (the event's recording time).
    pub timestamp: DateTime<Utc>,
    /// The kind's thin data (its schema: `GET /api/v1/event-types`).
    pub data: PublicData,
}

/// The thin data of one event; which shape is the kind's (`type`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PublicData {
    SubmissionDecided(SubmissionDecidedData),
    ChallengeMoved(ChallengeMovedData),
    Profile(ProfileData),
    UserStatus(UserStatusData),
    User(UserData),
    TierChanged(TierChangedData),
    TierDemoted(TierDemotedData),
    PodAssigned(PodAssignedData),
    PodUnassigned(PodUnassignedData),
    Nomination(NominationData),
    HandoffAccepted(HandoffAcceptedData),
    ReviewsNeeded(ReviewsNeededData),
    Claim(ClaimData),
    ReviewRecorded(ReviewRecordedData),
    TiebreakNeeded(TiebreakNeededData),
    Appeal(AppealData),
    CreditsMoved(CreditsMovedData),
    CertificateIssued(CertificateIssuedData),
    CertificateRevoked(CertificateRevokedData),
}

/// A submission's decision (`submission.reviewed`, `.review_overturned`,
/// `.rescored`), without the review's feedback.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionDecidedData {
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    pub talent_id: Uuid,
    /// The review that gave or changed the decision.
    pub review_id: Uuid,
    pub reviewer_id: Uuid,
    /// That review's decision and weighted total (0–100).
    pub decision: Decision,
    pub total: f64,
    pub outputs_meeting_standard: i32,
    /// The submission's decision before; null for a first.
    #[schema(required = true)]
    pub previous_decision: Option<Decision>,
    #[schema(required = true)]
    pub track: Option<Track>,
    #[schema(required = true)]
    pub certifies_track: Option<Track>,
    /// With several reviewers: the aggregate outcome; null with one.
    #[schema(required = true)]
    pub outcome: Option<OutcomeData>,
    /// The reward it paid, the clawback it made.
    #[schema(required = true)]
    pub reward_transaction_id: Option<Uuid>,
    #[schema(required = true)]
    pub reversal_transaction_id: Option<Uuid>,
}

/// What a submission's reviews add up to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeData {
    pub decision: Decision,
    pub score: f64,
    pub outputs_meeting_standard: i32,
    pub reviews: u32,
    pub tiebreak: bool,
}

/// A challenge's move (`challenge.open`, `.judging`, `.closed`,
/// `.cancelled`), without a cancellation's reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChallengeMovedData {
    pub challenge_id: Uuid,
    pub from: ChallengeStatus,
    pub to: ChallengeStatus,
    /// Whether the clock moved it (else a person, `actor_id`).
    pub by_clock: bool,
    #[schema(required = true)]
    pub actor_id: Option<Uuid>,
    /// What a close paid (empty otherwise).
    pub prizes: Vec<PrizeData>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrizeData {
    pub place: u32,
    pub talent_id: Uuid,
    pub submission_id: Uuid,
    pub amount: i64,
    pub transaction_id: Uuid,
}

/// `profile.updated`: whether the profile is now complete, not its text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileData {
    pub user_id: Uuid,
    pub profile_complete: bool,
}

/// `user.suspended`, `user.reactivated`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserStatusData {
    pub user_id: Uuid,
    pub from: UserStatus,
    pub to: UserStatus,
}

/// `user.erased`: the id is all that is left.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserData {
    pub user_id: Uuid,
}

/// `tier.changed`, without its reason and evidence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierChangedData {
    /// The tier history entry.
    pub change_id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    pub from_tier: i16,
    pub to_tier: i16,
    /// Whether the requirements moved it (else a person, `actor_id`).
    pub automatic: bool,
    #[schema(required = true)]
    pub actor_id: Option<Uuid>,
    /// The certificate it issued or revoked.
    #[schema(required = true)]
    pub certificate_id: Option<Uuid>,
}

/// `tier.demoted`, without the reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierDemotedData {
    pub talent_id: Uuid,
    pub track: Track,
    pub from: i16,
    pub to: i16,
}

/// `pod.assigned`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PodAssignedData {
    pub pod_id: Uuid,
    pub slot_id: Uuid,
    pub track: Track,
    pub talent_id: Uuid,
    #[schema(required = true)]
    pub from_slot_id: Option<Uuid>,
}

/// `pod.unassigned`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PodUnassignedData {
    pub pod_id: Uuid,
    pub slot_id: Uuid,
    pub talent_id: Uuid,
    /// The pods freed the slot themselves (a demotion out of Tier 5, an
    /// erasure); false when the generative lead unassigned.
    pub freed_by_pods: bool,
}

/// `handoff.nominated`, `handoff.declined`: without the note and reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NominationData {
    pub nomination_id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    pub status: NominationStatus,
    #[schema(required = true)]
    pub slot_id: Option<Uuid>,
    pub nominated_by: Uuid,
    #[schema(required = true)]
    pub decided_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

/// `handoff.accepted`: the nomination and where the talent went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HandoffAcceptedData {
    pub nomination_id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    pub pod_id: Uuid,
    pub slot_id: Uuid,
    #[schema(required = true)]
    pub decided_by: Option<Uuid>,
}

/// `review.needed`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewsNeededData {
    pub challenge_id: Uuid,
    #[schema(required = true)]
    pub track: Option<Track>,
    pub kind: SeatKind,
    pub seats: u64,
}

/// `review.claimed`, `.lease_expired`, `.released`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimData {
    pub claim_id: Uuid,
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    #[schema(required = true)]
    pub track: Option<Track>,
    pub seat: i16,
    pub kind: SeatKind,
    pub reviewer_id: Uuid,
    pub lease_expires_at: DateTime<Utc>,
    /// Who gave it back (`review.released` only; null otherwise).
    #[schema(required = true)]
    pub released_by: Option<Uuid>,
}

/// `review.recorded`, without the feedback.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewRecordedData {
    pub review_id: Uuid,
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    pub talent_id: Uuid,
    pub reviewer_id: Uuid,
    #[schema(required = true)]
    pub seat: Option<i16>,
    pub decision: Decision,
    pub total: f64,
    pub outputs_meeting_standard: i32,
    #[schema(required = true)]
    pub overturns_id: Option<Uuid>,
    /// Regular seats still waiting for a review.
    pub awaiting: u32,
}

/// `review.tiebreak_needed`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TiebreakNeededData {
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    #[schema(required = true)]
    pub track: Option<Track>,
    pub seat: i16,
    pub disagreement: Disagreement,
    pub gap: f64,
    pub threshold: f64,
}

/// `appeal.filed`, `appeal.answered`: without the reason and response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppealData {
    pub appeal_id: Uuid,
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    pub review_id: Uuid,
    pub appellant_id: Uuid,
    pub reviewer_id: Uuid,
    /// The rubric criterion's key.
    pub criterion: String,
    pub status: AppealStatus,
    pub initial_score: f64,
    #[schema(required = true)]
    pub final_score: Option<f64>,
    #[schema(required = true)]
    pub answered_by: Option<Uuid>,
    #[schema(required = true)]
    pub rescore_review_id: Option<Uuid>,
}

/// `credits.moved`: one ledger transaction from the talent's side (no memo).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreditsMovedData {
    pub transaction_id: Uuid,
    pub talent_id: Uuid,
    pub kind: TransactionKind,
    /// Signed: positive credits in, negative out.
    pub amount: i64,
    pub balance_after: i64,
}

/// `certificate.issued`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateIssuedData {
    pub certificate_id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    /// The certificate it replaces (a re-issue on other evidence).
    #[schema(required = true)]
    pub replaces: Option<Uuid>,
}

/// `certificate.revoked`, with its cause's code (not the staff's reason).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateRevokedData {
    pub certificate_id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    pub cause: RevocationCause,
}

/// The outward form of a stored event.
pub fn public(stored: &StoredEvent) -> PublicEvent {
    PublicEvent {
        r#type: stored.event.kind().as_str().to_owned(),
        timestamp: stored.created_at,
        data: data(stored.subject_id, &stored.event),
    }
}

fn data(subject: Uuid, event: &Event) -> PublicData {
    use PublicData as D;
    match event {
        Event::SubmissionReviewed(d)
        | Event::SubmissionReviewOverturned(d)
        | Event::SubmissionRescored(d) => D::SubmissionDecided(SubmissionDecidedData {
            submission_id: d.review.submission_id,
            challenge_id: d.review.challenge_id,
            talent_id: d.review.talent_id,
            review_id: d.review.id,
            reviewer_id: d.review.reviewer_id,
            decision: d.review.decision,
            total: d.review.total,
            outputs_meeting_standard: d.review.outputs_meeting_standard,
            previous_decision: d.previous_decision,
            track: d.track,
            certifies_track: d.certifies_track,
            outcome: d.outcome.map(|o| OutcomeData {
                decision: o.decision,
                score: o.score,
                outputs_meeting_standard: o.outputs_meeting_standard,
                reviews: o.reviews,
                tiebreak: o.tiebreak,
            }),
            reward_transaction_id: d.review.reward_transaction_id,
            reversal_transaction_id: d.review.reversal_transaction_id,
        }),
        Event::ChallengeOpened(m)
        | Event::ChallengeJudging(m)
        | Event::ChallengeClosed(m)
        | Event::ChallengeCancelled(m) => D::ChallengeMoved(challenge_moved(subject, m)),
        Event::ProfileUpdated(p) => D::Profile(ProfileData {
            user_id: subject,
            profile_complete: p.profile_complete,
        }),
        Event::UserSuspended(s) | Event::UserReactivated(s) => D::UserStatus(UserStatusData {
            user_id: subject,
            from: s.from,
            to: s.to,
        }),
        Event::UserErased(_) => D::User(UserData { user_id: subject }),
        Event::TierChanged(c) => D::TierChanged(TierChangedData {
            change_id: c.id,
            talent_id: c.talent_id,
            track: c.track,
            from_tier: c.from_tier,
            to_tier: c.to_tier,
            automatic: c.actor_id.is_none(),
            actor_id: c.actor_id,
            certificate_id: c.certificate_id,
        }),
        Event::TierDemoted(d) => D::TierDemoted(TierDemotedData {
            talent_id: subject,
            track: d.track,
            from: d.from.get(),
            to: d.to.get(),
        }),
        Event::PodAssigned(a) => D::PodAssigned(PodAssignedData {
            pod_id: a.slot.pod_id,
            slot_id: a.slot.id,
            track: a.slot.track,
            talent_id: a.slot.talent_id.unwrap_or(subject),
            from_slot_id: a.from_slot_id,
        }),
        Event::PodUnassigned(u) => D::PodUnassigned(PodUnassignedData {
            pod_id: subject,
            slot_id: u.slot_id,
            talent_id: u.talent_id,
            freed_by_pods: u.reason.is_some(),
        }),
        Event::HandoffNominated(n) | Event::HandoffDeclined(n) => D::Nomination(nomination(n)),
        Event::HandoffAccepted(a) => D::HandoffAccepted(HandoffAcceptedData {
            nomination_id: a.nomination.id,
            talent_id: a.nomination.talent_id,
            track: a.nomination.track,
            pod_id: a.pod_id,
            slot_id: a.slot_id,
            decided_by: a.nomination.decided_by,
        }),
        Event::ReviewNeeded(n) => D::ReviewsNeeded(ReviewsNeededData {
            challenge_id: n.challenge_id,
            track: n.track,
            kind: n.kind,
            seats: n.seats,
        }),
        Event::ReviewClaimed(c) | Event::ReviewLeaseExpired(c) => D::Claim(claim(c, None)),
        Event::ReviewReleased(ClaimReleased {
            claim: c,
            released_by,
        }) => D::Claim(claim(c, *released_by)),
        Event::ReviewRecorded(r) => D::ReviewRecorded(ReviewRecordedData {
            review_id: r.review.id,
            submission_id: r.review.submission_id,
            challenge_id: r.review.challenge_id,
            talent_id: r.review.talent_id,
            reviewer_id: r.review.reviewer_id,
            seat: r.review.seat,
            decision: r.review.decision,
            total: r.review.total,
            outputs_meeting_standard: r.review.outputs_meeting_standard,
            overturns_id: r.review.overturns_id,
            awaiting: r.awaiting,
        }),
        Event::ReviewTiebreakNeeded(t) => D::TiebreakNeeded(TiebreakNeededData {
            submission_id: t.submission_id,
            challenge_id: t.challenge_id,
            track: t.track,
            seat: t.seat,
            disagreement: t.disagreement,
            gap: t.gap,
            threshold: t.threshold,
        }),
        Event::AppealFiled(a) | Event::AppealAnswered(a) => D::Appeal(AppealData {
            appeal_id: a.id,
            submission_id: a.submission_id,
            challenge_id: a.challenge_id,
            review_id: a.review_id,
            appellant_id: a.appellant_id,
            reviewer_id: a.reviewer_id,
            criterion: a.criterion.clone(),
            status: a.status,
            initial_score: a.initial_score,
            final_score: a.final_score,
            answered_by: a.answered_by,
            rescore_review_id: a.rescore_review_id,
        }),
        Event::CreditsMoved(m) => D::CreditsMoved(CreditsMovedData {
            transaction_id: m.transaction_id,
            talent_id: m.talent_id,
            kind: m.kind,
            amount: m.amount,
            balance_after: m.balance_after,
        }),
        Event::CertificateIssued(c) => D::CertificateIssued(CertificateIssuedData {
            certificate_id: c.certificate_id,
            talent_id: c.talent_id,
            track: c.track,
            replaces: c.replaces,
        }),
        Event::CertificateRevoked(c) => D::CertificateRevoked(CertificateRevokedData {
            certificate_id: c.certificate_id,
            talent_id: c.talent_id,
            track: c.track,
            cause: c.cause,
        }),
    }
}

fn challenge_moved(challenge: Uuid, m: &ChallengeMoved) -> ChallengeMovedData {
    let (by_clock, actor_id) = match m.by {
        MovedBy::Clock(_) => (true, None),
        MovedBy::Caller(id) => (false, id),
    };
    ChallengeMovedData {
        challenge_id: challenge,
        from: m.from,
        to: m.to,
        by_clock,
        actor_id,
        prizes: m
            .prizes
            .iter()
            .flatten()
            .map(|p| PrizeData {
                place: p.place,
                talent_id: p.talent_id,
                submission_id: p.submission_id,
                amount: p.amount.into(),
                transaction_id: p.transaction_id,
            })
            .collect(),
    }
}

fn nomination(n: &Nomination) -> NominationData {
    NominationData {
        nomination_id: n.id,
        talent_id: n.talent_id,
        track: n.track,
        status: n.status,
        slot_id: n.slot_id,
        nominated_by: n.nominated_by,
        decided_by: n.decided_by,
        expires_at: n.expires_at,
    }
}

fn claim(c: &Claim, released_by: Option<Uuid>) -> ClaimData {
    ClaimData {
        claim_id: c.id,
        submission_id: c.submission_id,
        challenge_id: c.challenge_id,
        track: c.track,
        seat: c.seat,
        kind: c.kind,
        reviewer_id: c.reviewer_id,
        lease_expires_at: c.lease_expires_at,
        released_by,
    }
}

/// The name of a kind's data schema (in `components.schemas` of the
/// OpenAPI and events documents, and the catalogue).
pub fn data_schema(kind: EventKind) -> &'static str {
    use EventKind as K;
    match kind {
        K::SubmissionReviewed | K::SubmissionReviewOverturned | K::SubmissionRescored => {
            "SubmissionDecidedData"
        }
        K::ChallengeOpened | K::ChallengeJudging | K::ChallengeClosed | K::ChallengeCancelled => {
            "ChallengeMovedData"
        }
        K::ProfileUpdated => "ProfileData",
        K::UserSuspended | K::UserReactivated => "UserStatusData",
        K::UserErased => "UserData",
        K::TierChanged => "TierChangedData",
        K::TierDemoted => "TierDemotedData",
        K::PodAssigned => "PodAssignedData",
        K::PodUnassigned => "PodUnassignedData",
        K::HandoffNominated | K::HandoffDeclined => "NominationData",
        K::HandoffAccepted => "HandoffAcceptedData",
        K::ReviewNeeded => "ReviewsNeededData",
        K::ReviewClaimed | K::ReviewLeaseExpired | K::ReviewReleased => "ClaimData",
        K::ReviewRecorded => "ReviewRecordedData",
        K::ReviewTiebreakNeeded => "TiebreakNeededData",
        K::AppealFiled | K::AppealAnswered => "AppealData",
        K::CreditsMoved => "CreditsMovedData",
        K::CertificateIssued => "CertificateIssuedData",
        K::CertificateRevoked => "CertificateRevokedData",
    }
}

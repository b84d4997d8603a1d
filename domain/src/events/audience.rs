//! Who an event concerns: the people it is *about* (a talent whose work was
//! decided, whose tier, credits or certificate moved; a reviewer whose claim
//! lapsed), who may follow it as their own, and the staff topic it belongs
//! to. The live stream sends a person their own events and staff the topics
//! they may follow (`policy::may_follow`).
//!
//! [`audience`] matches [`Event`] without a wildcard arm: a new kind does not
//! compile until it has decided whom it concerns.

use uuid::Uuid;

use super::kinds::{ClaimReleased, Event};
use crate::enums::Topic;

/// Whom one event concerns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    /// The people it is about, who receive it as their own (at most a few).
    pub people: Vec<Uuid>,
    /// The staff topic it belongs to, if any.
    pub topic: Option<Topic>,
}

impl Audience {
    fn of(people: impl IntoIterator<Item = Uuid>, topic: Option<Topic>) -> Self {
        let mut people: Vec<Uuid> = people.into_iter().collect();
        people.sort_unstable();
        people.dedup();
        Self { people, topic }
    }

    /// Whether a person following their own events and `topics` receives it.
    pub fn reaches(&self, person: Uuid, topics: &[Topic]) -> bool {
        self.people.contains(&person) || self.topic.is_some_and(|t| topics.contains(&t))
    }
}

/// Whom `event` (about `subject`, the id its kind's `subject_type` names)
/// concerns.
pub fn audience(subject: Uuid, event: &Event) -> Audience {
    use Topic as T;
    let none = std::iter::empty::<Uuid>;
    match event {
        // The talent whose submission was decided or re-scored.
        Event::SubmissionReviewed(d)
        | Event::SubmissionReviewOverturned(d)
        | Event::SubmissionRescored(d) => Audience::of([d.review.talent_id], Some(T::Reviews)),
        // Public moves of a challenge: the prizes a close paid reach their
        // winners as `credits.moved`.
        Event::ChallengeOpened(_)
        | Event::ChallengeJudging(_)
        | Event::ChallengeClosed(_)
        | Event::ChallengeCancelled(_) => Audience::of(none(), Some(T::Challenges)),
        Event::ProfileUpdated(_) | Event::UserSuspended(_) | Event::UserReactivated(_) => {
            Audience::of([subject], Some(T::Accounts))
        }
        // Nobody is left to tell: the stream of an erased account ends.
        Event::UserErased(_) => Audience::of(none(), Some(T::Accounts)),
        Event::TierChanged(c) => Audience::of([c.talent_id], Some(T::Tiers)),
        Event::TierDemoted(_) => Audience::of([subject], Some(T::Tiers)),
        Event::PodAssigned(a) => Audience::of(a.slot.talent_id, Some(T::Handoffs)),
        Event::PodUnassigned(u) => Audience::of([u.talent_id], Some(T::Handoffs)),
        // A talent hears of their nomination when it is decided (the
        // issue's "their nomination decided"); staff see it made.
        Event::HandoffNominated(_) => Audience::of(none(), Some(T::Handoffs)),
        Event::HandoffAccepted(a) => Audience::of([a.nomination.talent_id], Some(T::Handoffs)),
        Event::HandoffDeclined(n) => Audience::of([n.talent_id], Some(T::Handoffs)),
        Event::ReviewNeeded(_) | Event::ReviewTiebreakNeeded(_) => {
            Audience::of(none(), Some(T::Reviews))
        }
        // The reviewer's own claim.
        Event::ReviewClaimed(c) | Event::ReviewLeaseExpired(c) => {
            Audience::of([c.reviewer_id], Some(T::Reviews))
        }
        Event::ReviewReleased(ClaimReleased { claim, .. }) => {
            Audience::of([claim.reviewer_id], Some(T::Reviews))
        }
        // One seat's review, before the submission's outcome: it names the
        // author of work still under blind review, so no feed carries it
        // (its reviewer wrote it; the outcome follows as
        // `submission.reviewed`).
        Event::ReviewRecorded(_) => Audience::of(none(), None),
        // After a decision (no longer blind): the appellant, and the
        // appealed reviewer, who answers first.
        Event::AppealFiled(a) | Event::AppealAnswered(a) => {
            Audience::of([a.appellant_id, a.reviewer_id], Some(T::Reviews))
        }
        Event::CreditsMoved(m) => Audience::of([m.talent_id], Some(T::Credits)),
        Event::CertificateIssued(c) => Audience::of([c.talent_id], Some(T::Tiers)),
        Event::CertificateRevoked(c) => Audience::of([c.talent_id], Some(T::Tiers)),
    }
}

/// The person whose account `event` may have stopped (a suspension or an
/// erasure): a stream of theirs checks the account again at once.
pub fn stops_access(subject: Uuid, event: &Event) -> Option<Uuid> {
    match event {
        Event::UserSuspended(_) | Event::UserErased(_) => Some(subject),
        Event::SubmissionReviewed(_)
        | Event::SubmissionReviewOverturned(_)
        | Event::SubmissionRescored(_)
        | Event::ChallengeOpened(_)
        | Event::ChallengeJudging(_)
        | Event::ChallengeClosed(_)
        | Event::ChallengeCancelled(_)
        | Event::ProfileUpdated(_)
        | Event::UserReactivated(_)
        | Event::TierChanged(_)
        | Event::TierDemoted(_)
        | Event::PodAssigned(_)
        | Event::PodUnassigned(_)
        | Event::HandoffNominated(_)
        | Event::HandoffAccepted(_)
        | Event::HandoffDeclined(_)
        | Event::ReviewNeeded(_)
        | Event::ReviewClaimed(_)
        | Event::ReviewLeaseExpired(_)
        | Event::ReviewReleased(_)
        | Event::ReviewRecorded(_)
        | Event::ReviewTiebreakNeeded(_)
        | Event::AppealFiled(_)
        | Event::AppealAnswered(_)
        | Event::CreditsMoved(_)
        | Event::CertificateIssued(_)
        | Event::CertificateRevoked(_) => None,
    }
}

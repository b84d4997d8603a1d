//! The tier code's reactions to what other code announces, called by
//! `events::record` in the announcing transaction: a review decision or an
//! overturn (the certificate follows its evidence, then the automatic
//! evaluation), a profile change (evaluation), an erasure (the attention
//! list clears). Its own room, above `engine` and `evidence`, so that
//! neither imports the other through it.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::engine::{Cause, evaluate};
use super::{attention, evidence};
use crate::error::Result;
use crate::events::Event;

/// The tier code's reaction to an announced event, in its transaction.
/// Every kind is named: a new one does not compile until it is decided here.
pub async fn react<C: ConnectionTrait>(tx: &C, subject: Uuid, event: &Event) -> Result<()> {
    match event {
        Event::SubmissionReviewed(d)
        | Event::SubmissionReviewOverturned(d)
        | Event::SubmissionRescored(d) => {
            let cause = Cause::Review {
                submission: subject,
                review: d.review.id,
            };
            // The certificate follows its evidence first (it may move Tier
            // 4 to 3), so the evaluation sees the tier that results.
            evidence::follow(tx, subject).await?;
            evaluate(tx, d.review.talent_id, None, &cause).await?;
        }
        Event::ProfileUpdated(_) => {
            evaluate(tx, subject, None, &Cause::ProfileChanged).await?;
        }
        Event::UserErased(_) => {
            // Erasure revoked the certificates: nothing is left to decide.
            attention::clear(tx, subject, None, "account_erased").await?;
        }
        // A challenge's moves change no requirement (its reviews do); a
        // suspension keeps the tiers (the account rules stop the person);
        // the tier code's own steps and the pods' placements and
        // nominations are consequences, not causes; the review queue's
        // steps decide nothing (a review does), and with several reviewers
        // neither does one review or a tiebreak's need (the aggregate's
        // `submission.reviewed` or `.rescored` does).
        Event::ChallengeOpened(_)
        | Event::ChallengeJudging(_)
        | Event::ChallengeClosed(_)
        | Event::ChallengeCancelled(_)
        | Event::UserSuspended(_)
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
        // An appeal decides nothing itself: an upheld one's re-score does
        // (`submission.rescored`).
        | Event::AppealFiled(_)
        | Event::AppealAnswered(_)
        | Event::CreditsMoved(_)
        | Event::CertificateIssued(_)
        | Event::CertificateRevoked(_) => {}
    }
    Ok(())
}

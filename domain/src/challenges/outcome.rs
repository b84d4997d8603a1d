//! A submission's outcome when its challenge has more than one reviewer.
//! After a review fills a seat (in its transaction, with the submission's
//! row locked), the current reviews of every seat are read and aggregated
//! (`panel::aggregate`): while regular seats wait, nothing is decided; a
//! disagreement opens the one tiebreak seat; a decision lands on the
//! submission row (`status`, `score`, `outputs_meeting_standard`, and
//! `review_id`: the review whose arrival changed it), and everything
//! downstream — reward, tiers, leaderboard, certificate evidence, prizes —
//! reads that row. The reward moves only when the aggregate decision
//! changes, through the one path single reviews use ([`move_reward`]), so
//! however many reviews, tiebreaks and overturns, it is paid at most once
//! net (`ledger::rewards`). Once decided, an outcome stands until a new
//! complete aggregate replaces it (a disagreement an overturn opened waits
//! for its tiebreak with the last outcome in place).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Challenge;
use super::panel::{self, Decision, Disagreement, Outcome, Verdict, Vote};
use super::seats::{self, SeatKind, SeatState};
use super::submissions::{SubmissionRow, SubmissionStatus};
use crate::caller::Actor;
use crate::db;
use crate::error::{DomainError, Result};
use crate::ledger;
use crate::types::Track;

/// A tiebreak review is needed: the submission's regular reviews disagree
/// and its tiebreak seat opened in the queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TiebreakNeeded {
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    #[schema(required = true)]
    pub track: Option<Track>,
    /// The tiebreak seat (after the regular ones).
    pub seat: i16,
    pub disagreement: Disagreement,
    /// The gap between the regular reviews' highest and lowest weighted totals.
    pub gap: f64,
    /// The challenge's disagreement threshold.
    pub threshold: f64,
}

/// What a review settled about its submission.
#[derive(Debug, Default)]
pub(super) struct Settled {
    /// What the review moved of the reward.
    pub money: ledger::RewardMoves,
    /// Regular seats still waiting for a review.
    pub awaiting: u32,
    /// The tiebreak seat it opened.
    pub tiebreak: Option<TiebreakNeeded>,
    /// The outcome it changed (or gave first): the decision before, and now.
    pub decided: Option<(Option<Decision>, Outcome)>,
}

/// A seat and its current review's figures.
#[derive(FromQueryResult)]
struct SeatVote {
    seat: i16,
    kind: SeatKind,
    state: SeatState,
    total: Option<f64>,
    decision: Option<Decision>,
    outputs_meeting_standard: Option<i32>,
}

/// Re-aggregates submission `s` after review `review` filled seat
/// `filled.0` with `filled.1` (not yet stored): opens the tiebreak seat,
/// or lands the outcome and moves the reward, as the verdict says.
pub(super) async fn settle(
    tx: &DatabaseTransaction,
    s: &SubmissionRow,
    c: &Challenge,
    filled: (i16, Vote),
    review: Uuid,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Settled> {
    let p = c.panel();
    let rows: Vec<SeatVote> = db::fetch_all(
        tx,
        "SELECT rs.seat, rs.kind, rs.state, r.total, r.decision, r.outputs_meeting_standard \
         FROM review_seats rs LEFT JOIN reviews r ON r.id = rs.review_id \
         WHERE rs.submission_id = $1 ORDER BY rs.seat",
        [s.id.into()],
    )
    .await?;
    let (mut regular, mut tiebreak) = (Vec::new(), None);
    for row in rows.iter().filter(|r| r.state == SeatState::Filled) {
        let vote = if row.seat == filled.0 {
            filled.1
        } else {
            match (row.total, row.decision, row.outputs_meeting_standard) {
                (Some(total), Some(decision), Some(outputs)) => Vote {
                    total,
                    decision,
                    outputs,
                },
                _ => return Err(DomainError::bug("a filled seat without its review")),
            }
        };
        match row.kind {
            SeatKind::Regular => regular.push(vote),
            SeatKind::Tiebreak => tiebreak = Some(vote),
        }
    }
    let mut settled = Settled::default();
    match panel::aggregate(&p, &regular, tiebreak) {
        Verdict::Pending { awaiting } => settled.awaiting = awaiting,
        Verdict::TiebreakNeeded { why, gap } => {
            let seat = p.reviewers + 1;
            if seats::open_tiebreak(tx, s.id, seat, at).await? {
                settled.tiebreak = Some(TiebreakNeeded {
                    submission_id: s.id,
                    challenge_id: c.id,
                    track: c.track,
                    seat,
                    disagreement: why,
                    gap,
                    threshold: p.threshold,
                });
            }
        }
        Verdict::Decided(o) => {
            seats::void_tiebreak(tx, s.id, at).await?;
            let was = decision_of(s.status)?;
            let same = was == Some(o.decision)
                && s.score == Some(o.score)
                && s.outputs_meeting_standard == Some(o.outputs_meeting_standard);
            if !same {
                land(tx, s.id, review, &o, at).await?;
                settled.money = move_reward(tx, s, c, (was, o.decision), review, actor).await?;
                settled.decided = Some((was, o));
            }
        }
    }
    Ok(settled)
}

/// The decision a submission's status carries, if it has one.
fn decision_of(status: SubmissionStatus) -> Result<Option<Decision>> {
    match status {
        SubmissionStatus::Submitted => Ok(None),
        SubmissionStatus::Accepted => Ok(Some(Decision::Accepted)),
        SubmissionStatus::Rejected => Ok(Some(Decision::Rejected)),
        SubmissionStatus::Withdrawn => Err(DomainError::SubmissionWithdrawn),
    }
}

/// The outcome lands on the submission row (locked by the review).
async fn land(
    tx: &DatabaseTransaction,
    submission: Uuid,
    review: Uuid,
    o: &Outcome,
    at: DateTime<Utc>,
) -> Result<()> {
    let moved = db::execute(
        tx,
        "UPDATE submissions SET review_id = $1, status = $2, score = $3, outputs_meeting_standard = $4, \
         updated_at = $5 WHERE id = $6 AND status <> 'withdrawn'",
        [
            review.into(),
            o.decision.into(),
            o.score.into(),
            o.outputs_meeting_standard.into(),
            at.into(),
            submission.into(),
        ],
    )
    .await?;
    if moved == 0 {
        return Err(DomainError::ReviewConflict);
    }
    Ok(())
}

/// Money moves when the submission's decision changes (`was` → now):
/// becoming accepted pays, becoming rejected takes back, under references
/// named by `review` (the review that changed it: each review changes it
/// at most once); an accepted → accepted re-score pays nothing, nor does
/// rejected → rejected.
pub(super) async fn move_reward(
    tx: &DatabaseTransaction,
    s: &SubmissionRow,
    c: &Challenge,
    (was, now): (Option<Decision>, Decision),
    review: Uuid,
    actor: Actor,
) -> Result<ledger::RewardMoves> {
    let reward = ledger::SubmissionReward {
        submission_id: s.id,
        talent_id: s.talent_id,
        reward: c.reward,
    };
    Ok(match (was, now) {
        (Some(Decision::Accepted), Decision::Accepted) => ledger::RewardMoves::default(),
        (_, Decision::Accepted) => ledger::accept_reward(tx, &reward, review, actor).await?,
        (Some(Decision::Accepted), Decision::Rejected) => {
            ledger::reject_reward(tx, &reward, review, actor).await?
        }
        (_, Decision::Rejected) => ledger::RewardMoves::default(),
    })
}

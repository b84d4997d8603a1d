//! The review panel: how many regular reviewers each submission of a
//! challenge gets (1–3), when their reviews disagree, and the one outcome
//! they add up to — [`aggregate`], a pure function of the current reviews
//! of a submission's seats, so a first review, a tiebreak and any chain of
//! overturns are all decided by the same rule.
//!
//! The rule. Scores are weighted totals (0–100, two decimals), like the
//! pass mark and the disagreement threshold.
//! - An outcome exists once every regular seat has a review.
//! - The regular reviews disagree when their decisions differ, or when the
//!   highest and lowest totals are more than the threshold apart. Then the
//!   tiebreak review is needed, and the outcome waits for it.
//! - Without a disagreement the score is the mean of the regular reviews'
//!   totals; with one, the median of all the reviews' totals (the tiebreak
//!   included).
//! - The decision is `accepted` when a strict majority of the counted
//!   reviews accepted *and* the score reaches the pass mark (the first
//!   implies the second, as every acceptance reaches it: checked anyway).
//!   Agreeing reviewers decide together; a tiebreak sides with one; a tie
//!   (two against two, with three reviewers and a tiebreak) rejects. A
//!   reviewer's rejection of work scoring above the pass mark is a
//!   judgement the score alone does not overrule, as with one reviewer.
//! - Outputs meeting the standard (bulk-run success) is the lower median
//!   of the counted reviews' counts: a count at least one reviewer gave,
//!   and at least k only if most counted reviews saw k or more.
//!
//! With one reviewer this is that review's score, decision and count.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use sea_orm::{DeriveActiveEnum, EnumIter};

use crate::error::FieldError;
use crate::types::Validator;

/// How many regular reviewers a submission may get at most.
pub const MAX_REVIEWERS: i64 = 3;
/// How far apart (points of the 0–100 weighted total) two reviewers may
/// be without a tiebreak, unless the challenge says otherwise: 15 % of
/// the maximum.
pub const DEFAULT_DISAGREEMENT_THRESHOLD: f64 = 15.0;

/// A reviewer's verdict.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum Decision {
    Accepted,
    Rejected,
}

/// A challenge's panel settings, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Panel {
    /// Regular reviews per submission, 1–3.
    pub reviewers: i16,
    /// The largest gap between regular totals that is not a disagreement.
    pub threshold: f64,
    pub pass_mark: f64,
}

/// Checks the panel fields as sent (absent: the defaults), naming each bad
/// one; returns them as stored.
pub(super) fn check(
    reviewers: Option<i64>,
    threshold: Option<f64>,
    v: &mut Validator,
) -> Option<(i16, f64)> {
    let reviewers = reviewers.unwrap_or(1);
    let threshold = threshold.unwrap_or(DEFAULT_DISAGREEMENT_THRESHOLD);
    let mut ok = true;
    if !(1..=MAX_REVIEWERS).contains(&reviewers) {
        v.push(FieldError::new(
            "reviewers_per_submission",
            format!("must be between 1 and {MAX_REVIEWERS}"),
        ));
        ok = false;
    }
    if !(threshold.is_finite() && (0.0..=100.0).contains(&threshold)) {
        v.push(FieldError::new(
            "disagreement_threshold",
            "must be between 0 and 100 (points of the weighted total)",
        ));
        ok = false;
    }
    ok.then(|| (i16::try_from(reviewers).unwrap_or(1), threshold))
}

/// One current review, as the panel counts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vote {
    pub total: f64,
    pub decision: Decision,
    pub outputs: i32,
}

/// Why the regular reviews need a tiebreak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disagreement {
    /// One accepted, another rejected.
    Decisions,
    /// Their weighted totals are further apart than the threshold.
    Scores,
}

/// What a submission's reviews add up to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    pub decision: Decision,
    /// The weighted total (0–100): the mean of the regular reviews', or
    /// with a tiebreak the median of all.
    pub score: f64,
    /// The lower median of the counted reviews' counts.
    pub outputs_meeting_standard: i32,
    /// How many reviews it counts.
    pub reviews: u32,
    /// Whether a tiebreak review is among them.
    pub tiebreak: bool,
}

/// Where a submission's reviews stand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Regular seats still wait for `awaiting` reviews.
    Pending {
        awaiting: u32,
    },
    /// The regular reviews disagree and the tiebreak review is missing.
    TiebreakNeeded {
        why: Disagreement,
        gap: f64,
    },
    Decided(Outcome),
}

/// Two decimals, as totals are stored.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The gap between the highest and lowest totals.
pub fn gap(votes: &[Vote]) -> f64 {
    let max = votes.iter().map(|v| v.total).fold(f64::MIN, f64::max);
    let min = votes.iter().map(|v| v.total).fold(f64::MAX, f64::min);
    if votes.is_empty() {
        0.0
    } else {
        round2(max - min)
    }
}

/// Whether (and why) the regular reviews disagree.
pub fn disagreement(panel: &Panel, regular: &[Vote]) -> Option<Disagreement> {
    let first = regular.first()?;
    if regular.iter().any(|v| v.decision != first.decision) {
        Some(Disagreement::Decisions)
    } else if gap(regular) > panel.threshold {
        Some(Disagreement::Scores)
    } else {
        None
    }
}

/// The outcome of a submission's current reviews: `regular` those of its
/// filled regular seats, `tiebreak` that of its tiebreak seat if filled.
pub fn aggregate(panel: &Panel, regular: &[Vote], tiebreak: Option<Vote>) -> Verdict {
    let needed = usize::try_from(panel.reviewers).unwrap_or(1).max(1);
    if regular.len() < needed {
        let awaiting = u32::try_from(needed - regular.len()).unwrap_or(u32::MAX);
        return Verdict::Pending { awaiting };
    }
    match disagreement(panel, regular) {
        None => {
            let mean = regular.iter().map(|v| v.total).sum::<f64>() / regular.len() as f64;
            Verdict::Decided(outcome(panel, regular, round2(mean), false))
        }
        Some(why) => match tiebreak {
            None => Verdict::TiebreakNeeded {
                why,
                gap: gap(regular),
            },
            Some(t) => {
                let all: Vec<Vote> = regular.iter().copied().chain([t]).collect();
                let mut totals: Vec<f64> = all.iter().map(|v| v.total).collect();
                totals.sort_by(f64::total_cmp);
                let mid = totals.len() / 2;
                let median = if totals.len() % 2 == 1 {
                    totals[mid]
                } else {
                    (totals[mid - 1] + totals[mid]) / 2.0
                };
                Verdict::Decided(outcome(panel, &all, round2(median), true))
            }
        },
    }
}

fn outcome(panel: &Panel, counted: &[Vote], score: f64, tiebreak: bool) -> Outcome {
    let accepted = counted
        .iter()
        .filter(|v| v.decision == Decision::Accepted)
        .count();
    let decision = if accepted * 2 > counted.len() && score >= panel.pass_mark {
        Decision::Accepted
    } else {
        Decision::Rejected
    };
    let mut outputs: Vec<i32> = counted.iter().map(|v| v.outputs).collect();
    outputs.sort_unstable();
    Outcome {
        decision,
        score,
        outputs_meeting_standard: outputs
            .get(outputs.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0),
        reviews: u32::try_from(counted.len()).unwrap_or(u32::MAX),
        tiebreak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Decision = Decision::Accepted;
    const R: Decision = Decision::Rejected;

    fn panel(reviewers: i16) -> Panel {
        Panel {
            reviewers,
            threshold: 15.0,
            pass_mark: 60.0,
        }
    }

    fn vote(total: f64, decision: Decision, outputs: i32) -> Vote {
        Vote {
            total,
            decision,
            outputs,
        }
    }

    fn decided(v: Verdict) -> Outcome {
        match v {
            Verdict::Decided(o) => o,
            other => panic!("expected an outcome, got {other:?}"),
        }
    }

    #[test]
    fn one_reviewer_decides_alone_as_before() {
        for v in [vote(70.0, A, 3), vote(75.5, R, 0), vote(33.33, R, 1)] {
            let o = decided(aggregate(&panel(1), &[v], None));
            assert_eq!(
                (o.decision, o.score, o.outputs_meeting_standard),
                (v.decision, v.total, v.outputs)
            );
            assert_eq!((o.reviews, o.tiebreak), (1, false));
        }
    }

    #[test]
    fn the_outcome_waits_for_every_regular_seat() {
        assert_eq!(
            aggregate(&panel(2), &[vote(70.0, A, 1)], None),
            Verdict::Pending { awaiting: 1 }
        );
        assert_eq!(
            aggregate(&panel(3), &[], None),
            Verdict::Pending { awaiting: 3 }
        );
    }

    #[test]
    fn agreeing_reviewers_give_the_mean_and_their_decision() {
        let o = decided(aggregate(
            &panel(2),
            &[vote(70.0, A, 3), vote(80.0, A, 1)],
            None,
        ));
        assert_eq!((o.decision, o.score), (A, 75.0));
        // The lower median of 1 and 3.
        assert_eq!(o.outputs_meeting_standard, 1);
        // Two rejections above the pass mark stay a rejection.
        let o = decided(aggregate(
            &panel(2),
            &[vote(70.0, R, 2), vote(72.25, R, 2)],
            None,
        ));
        assert_eq!((o.decision, o.score), (R, 71.13));
    }

    #[test]
    fn different_decisions_need_a_tiebreak() {
        let regular = [vote(65.0, A, 1), vote(58.0, R, 0)];
        assert_eq!(
            aggregate(&panel(2), &regular, None),
            Verdict::TiebreakNeeded {
                why: Disagreement::Decisions,
                gap: 7.0
            }
        );
    }

    #[test]
    fn totals_further_apart_than_the_threshold_need_a_tiebreak() {
        let at_threshold = [vote(75.0, A, 1), vote(60.0, A, 1)];
        assert!(matches!(
            aggregate(&panel(2), &at_threshold, None),
            Verdict::Decided(_)
        ));
        let beyond = [vote(75.01, A, 1), vote(60.0, A, 1)];
        assert_eq!(
            aggregate(&panel(2), &beyond, None),
            Verdict::TiebreakNeeded {
                why: Disagreement::Scores,
                gap: 15.01
            }
        );
        let strict = Panel {
            threshold: 0.0,
            ..panel(2)
        };
        assert!(matches!(
            aggregate(&strict, &[vote(70.0, A, 1), vote(70.01, A, 1)], None),
            Verdict::TiebreakNeeded { .. }
        ));
    }

    #[test]
    fn a_tiebreak_gives_the_median_and_the_majority() {
        let regular = [vote(90.0, A, 4), vote(40.0, R, 0)];
        let o = decided(aggregate(&panel(2), &regular, Some(vote(65.0, A, 2))));
        assert_eq!(
            (o.decision, o.score, o.outputs_meeting_standard),
            (A, 65.0, 2)
        );
        assert_eq!((o.reviews, o.tiebreak), (3, true));
        let o = decided(aggregate(&panel(2), &regular, Some(vote(55.0, R, 0))));
        assert_eq!(
            (o.decision, o.score, o.outputs_meeting_standard),
            (R, 55.0, 0)
        );
        // The tiebreak rejects work scoring above the pass mark: two of
        // three rejected, so the submission is rejected at the median.
        let o = decided(aggregate(&panel(2), &regular, Some(vote(70.0, R, 1))));
        assert_eq!((o.decision, o.score), (R, 70.0));
    }

    #[test]
    fn a_tie_of_four_rejects_and_an_even_median_is_the_middle_mean() {
        let regular = [vote(90.0, A, 3), vote(85.0, A, 3), vote(40.0, R, 0)];
        let o = decided(aggregate(&panel(3), &regular, Some(vote(50.0, R, 1))));
        assert_eq!(
            (o.decision, o.score, o.outputs_meeting_standard),
            (R, 67.5, 1)
        );
        let o = decided(aggregate(&panel(3), &regular, Some(vote(70.0, A, 2))));
        assert_eq!(
            (o.decision, o.score, o.outputs_meeting_standard),
            (A, 77.5, 2)
        );
    }

    #[test]
    fn agreeing_regulars_decide_whatever_a_tiebreak_said() {
        // An overturn settled the disagreement: the tiebreak no longer counts.
        let o = decided(aggregate(
            &panel(2),
            &[vote(70.0, A, 2), vote(72.0, A, 2)],
            Some(vote(10.0, R, 0)),
        ));
        assert_eq!(
            (o.decision, o.score, o.reviews, o.tiebreak),
            (A, 71.0, 2, false)
        );
    }

    #[test]
    fn the_settings_are_checked_and_default() {
        let mut v = Validator::default();
        assert_eq!(check(None, None, &mut v), Some((1, 15.0)));
        assert_eq!(check(Some(3), Some(0.0), &mut v), Some((3, 0.0)));
        assert!(v.finish_with(|| Some(())).is_ok());
        for (r, t, field) in [
            (Some(0), None, "reviewers_per_submission"),
            (Some(4), None, "reviewers_per_submission"),
            (None, Some(-1.0), "disagreement_threshold"),
            (None, Some(100.5), "disagreement_threshold"),
            (None, Some(f64::NAN), "disagreement_threshold"),
        ] {
            let mut v = Validator::default();
            assert_eq!(check(r, t, &mut v), None);
            let Err(crate::error::DomainError::Validation(errors)) = v.finish_with(|| Some(()))
            else {
                panic!("{field}: expected a validation error");
            };
            assert_eq!(errors[0].field, field);
        }
    }
}

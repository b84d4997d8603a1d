//! Answering an appeal: until its `respond_by` the appealed reviewer, after
//! it any other manager without a conflict of interest; exactly once (a
//! guarded update on `status = 'open'`). An upheld appeal re-scores the
//! criterion through a review that replaces the appealed one in its seat
//! (`reviews::write`), so the outcome, reward, tiers and leaderboard move
//! once, by the path every review takes.

use std::collections::BTreeMap;

use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::appeals::{Appeal, AppealStatus, find_appeal};
use super::conflicts::{self, Reviewed};
use super::panel::Decision;
use super::reviews::{self, Origin, ReviewSpec, find_review};
use super::{ChallengeStatus, RubricVersion, find};
use crate::caller::Caller;
use crate::db;
use crate::error::{Denied, DomainError, FieldError, Result};
use crate::events::{self, Event};
use crate::idempotency::{self, Idempotency};
use crate::policy::{Allowed, ReviewSubmissions};
use crate::types::Text;
use crate::{audit, now};

/// What an answer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    Upheld,
    Denied,
}

/// An answer to an appeal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealAnswer {
    pub outcome: AppealOutcome,
    /// Upheld: the criterion's new score (0 to its `max_score`, not the
    /// initial one). Denied: absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 9.0)]
    pub new_score: Option<f64>,
    /// 1–5,000 characters for the talent.
    #[schema(example = "Agreed: the lighting follows the brief.")]
    pub response: String,
}

pub async fn answer(
    db: &DatabaseConnection,
    allowed: &Allowed<ReviewSubmissions>,
    idem: Option<&Idempotency>,
    appeal_id: Uuid,
    spec: AppealAnswer,
) -> Result<Appeal> {
    let caller = allowed.caller();
    let response = Text::parse("response", &spec.response, 1, 5000)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    match (spec.outcome, spec.new_score) {
        (AppealOutcome::Upheld, None) => {
            return Err(DomainError::field("new_score", "is required to uphold"));
        }
        (AppealOutcome::Denied, Some(_)) => {
            return Err(DomainError::field(
                "new_score",
                "must be absent when denying",
            ));
        }
        (AppealOutcome::Upheld, Some(_)) | (AppealOutcome::Denied, None) => {}
    }
    let request = serde_json::json!({ "appeal_id": appeal_id, "answer": spec });
    idempotency::run_optional(db, idem, "appeal.answer", &request, async |tx| {
        let before = find_appeal(tx, appeal_id).await?;
        if before.status != AppealStatus::Open {
            return Err(DomainError::AppealAnswered);
        }
        let c = find(tx, before.challenge_id).await?;
        if c.status != ChallengeStatus::Judging {
            return Err(DomainError::NotJudging);
        }
        may_answer(tx, caller, &before, c.track).await?;
        let at = now();
        let final_score = spec.new_score.unwrap_or(before.initial_score);
        let status = match spec.outcome {
            AppealOutcome::Upheld => AppealStatus::Upheld,
            AppealOutcome::Denied => AppealStatus::Denied,
        };
        // Exactly once: of concurrent answers one moves it.
        let moved = db::execute(
            tx,
            "UPDATE appeals SET status = $1, answered_by = $2, answered_at = $3, response = $4, \
             final_score = $5 WHERE id = $6 AND status = 'open'",
            [
                status.into(),
                caller.user_id().into(),
                at.into(),
                response.as_str().into(),
                final_score.into(),
                appeal_id.into(),
            ],
        )
        .await?;
        if moved == 0 {
            return Err(DomainError::AppealAnswered);
        }
        if let Some(score) = spec.new_score {
            let rescore = rescore(tx, caller, &before, score).await?;
            db::execute(
                tx,
                "UPDATE appeals SET rescore_review_id = $1 WHERE id = $2",
                [rescore.into(), appeal_id.into()],
            )
            .await?;
        }
        let after = find_appeal(tx, appeal_id).await?;
        let (b, a) = (Some(audit::json(&before)), Some(audit::json(&after)));
        let answered = Event::AppealAnswered(after.clone());
        events::record_staff_action(tx, caller.actor(), after.submission_id, answered, b, a)
            .await?;
        Ok(after)
    })
    .await
}

/// Until `respond_by` the appealed reviewer answers; after it any other
/// manager without a conflict of interest with the submission (403).
async fn may_answer(
    tx: &DatabaseTransaction,
    caller: &Caller,
    a: &Appeal,
    track: Option<crate::types::Track>,
) -> Result<()> {
    let me = caller
        .user_id()
        .ok_or_else(|| DomainError::bug("an answer by a service"))?;
    let overdue = now() >= a.respond_by;
    match (me == a.reviewer_id, overdue) {
        (true, false) => Ok(()),
        (false, false) => Err(DomainError::Forbidden(Denied::AppealedReviewerFirst)),
        (true, true) => Err(DomainError::Forbidden(Denied::AppealOverdue)),
        (false, true) => {
            let reviewed = Reviewed {
                submission: a.submission_id,
                talent: a.appellant_id,
                track,
            };
            conflicts::check(tx, caller, me, &reviewed, Some(a.review_id)).await
        }
    }
}

/// Re-scores the appealed review's criterion: a review with its scores but
/// `score` for the criterion replaces it in its seat. Its decision follows
/// the pass mark when the new total crosses it (a rejection reaching it
/// becomes an acceptance, an acceptance falling below it a rejection);
/// otherwise the reviewer's decision stands. Returns the new review's id.
async fn rescore(
    tx: &DatabaseTransaction,
    caller: &Caller,
    a: &Appeal,
    score: f64,
) -> Result<Uuid> {
    let old = find_review(tx, a.review_id).await?;
    let rubric = rubric_of(tx, old.challenge_id, old.rubric_version).await?;
    let criterion = rubric
        .criteria
        .iter()
        .find(|c| c.key == a.criterion)
        .ok_or_else(|| DomainError::bug("an appeal of a criterion its rubric lacks"))?;
    if !(score.is_finite() && (0.0..=criterion.max_score).contains(&score)) {
        return Err(DomainError::field(
            "new_score",
            &format!("must be between 0 and {}", criterion.max_score),
        ));
    }
    if score == a.initial_score {
        return Err(DomainError::Validation(vec![FieldError::new(
            "new_score",
            "an upheld appeal changes the score; deny it to keep the score",
        )]));
    }
    let mut scores: BTreeMap<String, f64> = serde_json::from_value(old.scores.clone())
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("unreadable stored scores: {e}")))?;
    scores.insert(a.criterion.clone(), score);
    let total = rubric.total(&scores)?;
    let pass = rubric.pass_mark;
    let decision = match old.decision {
        Decision::Rejected if old.total < pass && total >= pass => Decision::Accepted,
        Decision::Accepted if total < pass => Decision::Rejected,
        d @ (Decision::Accepted | Decision::Rejected) => d,
    };
    let spec = ReviewSpec {
        scores,
        decision,
        outputs_meeting_standard: old.outputs_meeting_standard.into(),
        feedback: old.feedback.clone(),
        overturns: Some(old.id),
    };
    let (review, _) =
        reviews::write(tx, caller, a.submission_id, &spec, Origin::Appeal(rubric)).await?;
    Ok(review.id)
}

#[derive(sea_orm::FromQueryResult)]
struct RubricRow {
    criteria: serde_json::Value,
    pass_mark: f64,
}

async fn rubric_of(
    tx: &DatabaseTransaction,
    challenge: uuid::Uuid,
    version: i32,
) -> Result<RubricVersion> {
    let row: RubricRow = db::fetch_one(
        tx,
        "SELECT criteria, pass_mark FROM rubric_versions WHERE challenge_id = $1 AND version = $2",
        [challenge.into(), version.into()],
    )
    .await?
    .ok_or_else(|| DomainError::bug("a review's rubric version is missing"))?;
    Ok(RubricVersion {
        version,
        criteria: super::decode(row.criteria, "rubric")?,
        pass_mark: row.pass_mark,
    })
}

//! Reviews: a community manager scores a submission against the current
//! rubric (while the challenge is judging, never with a conflict of
//! interest), filling one of its review seats (`seats`): the one they
//! claimed, or one nobody holds. Another manager may overturn by naming
//! the seat's review they replace; a review that lands second is refused,
//! so 20 managers accepting at once make one review. Rewards move in the
//! review's own transaction, through
//! `ledger::rewards`: becoming accepted pays what the talent does not hold of
//! the reward; becoming rejected takes back what they hold, and what they
//! already spent is owed — never more than the reward in all. With one
//! reviewer per submission a review is the submission's decision; with
//! more, each review fills its seat and `outcome` decides what they add up
//! to (one reviewer fills at most one seat of a submission).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, FromQueryResult,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::blind::{self, Authors};
use super::conflicts::{self, Reviewed};
use super::outcome::{self, Settled};
use super::panel::{Decision, Vote};
use super::submissions::{SubmissionRow, SubmissionStatus, find_submission};
use super::{Challenge, ChallengeStatus, RubricVersion, find, queue, seats};
use crate::caller::{Actor, Caller};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, FieldError, Result};
use crate::events::{self, Event, ReviewDecided};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{self, Allowed, ReviewSubmissions};
use crate::types::{Limit, Text};
use crate::{audit, ledger, new_id, now, verification};

/// A review as a manager writes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSpec {
    /// A score for every criterion of the current rubric, 0 to its `max_score`.
    #[schema(example = json!({"composition": 8, "lighting": 7.5}))]
    pub scores: BTreeMap<String, f64>,
    /// `accepted` needs the weighted total to reach the rubric's pass mark.
    pub decision: Decision,
    /// Of the batch, how many outputs met the visual standard (0 to `batch_size`).
    #[schema(minimum = 0, maximum = 1000, example = 3)]
    pub outputs_meeting_standard: i64,
    /// Up to 5,000 characters for the talent.
    #[serde(default)]
    #[schema(example = "Strong lighting; the reflections on the street are convincing.")]
    pub feedback: String,
    /// To overturn: the id of the current review of one of the
    /// submission's seats. Absent for a first review (it takes the seat
    /// you claimed, or one nobody holds).
    #[serde(default)]
    pub overturns: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct Review {
    pub id: Uuid,
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    pub talent_id: Uuid,
    pub reviewer_id: Uuid,
    /// The rubric version it scored against.
    pub rubric_version: i32,
    /// The score given per criterion key.
    #[schema(value_type = std::collections::HashMap<String, f64>)]
    pub scores: serde_json::Value,
    /// The weighted total, 0–100.
    pub total: f64,
    /// This reviewer's decision. With several reviewers per submission the
    /// submission's own decision is their aggregate (the submission's
    /// `status`).
    pub decision: Decision,
    pub outputs_meeting_standard: i32,
    pub feedback: String,
    /// The review this one overturned.
    #[schema(required = true)]
    pub overturns_id: Option<Uuid>,
    /// The reward it paid (the review that changed the submission's
    /// decision to accepted).
    #[schema(required = true)]
    pub reward_transaction_id: Option<Uuid>,
    /// The take-back (a `clawback` transaction) when it rejected a paid
    /// submission.
    #[schema(required = true)]
    pub reversal_transaction_id: Option<Uuid>,
    /// What of the reward it could not take back (the talent had spent or
    /// held it): owed, and paid from the talent's next incoming credits.
    pub reward_owed: i64,
    pub created_at: DateTime<Utc>,
    /// The review seat it filled (absent in events written before seats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<i16>,
}

/// A review as its reader sees it: while the challenge is judging, a
/// reviewer reads others' reviews of a submission blind (no `talent_id`,
/// its `author_alias` instead), as they read the submission.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    /// The submission's talent; null in a blind view.
    #[schema(required = true)]
    pub talent_id: Option<Uuid>,
    /// In a blind view: the submission's author as an alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_alias: Option<String>,
    pub reviewer_id: Uuid,
    /// The review seat it filled.
    #[schema(required = true)]
    pub seat: Option<i16>,
    /// The rubric version it scored against.
    pub rubric_version: i32,
    /// The score given per criterion key.
    #[schema(value_type = std::collections::HashMap<String, f64>)]
    pub scores: serde_json::Value,
    /// The weighted total, 0–100.
    pub total: f64,
    pub decision: Decision,
    pub outputs_meeting_standard: i32,
    pub feedback: String,
    /// The review this one overturned.
    #[schema(required = true)]
    pub overturns_id: Option<Uuid>,
    /// The reward it paid.
    #[schema(required = true)]
    pub reward_transaction_id: Option<Uuid>,
    /// The take-back (a `clawback` transaction) when it rejected a paid
    /// submission.
    #[schema(required = true)]
    pub reversal_transaction_id: Option<Uuid>,
    /// What of the reward it could not take back: owed.
    pub reward_owed: i64,
    pub created_at: DateTime<Utc>,
}

impl Review {
    fn view(self, authors: &Authors, caller: &Caller) -> ReviewView {
        let alias = authors.alias_for(Some(caller), self.talent_id);
        ReviewView {
            id: self.id,
            submission_id: self.submission_id,
            challenge_id: self.challenge_id,
            talent_id: alias.is_none().then_some(self.talent_id),
            author_alias: alias,
            reviewer_id: self.reviewer_id,
            seat: self.seat,
            rubric_version: self.rubric_version,
            scores: self.scores,
            total: self.total,
            decision: self.decision,
            outputs_meeting_standard: self.outputs_meeting_standard,
            feedback: self.feedback,
            overturns_id: self.overturns_id,
            reward_transaction_id: self.reward_transaction_id,
            reversal_transaction_id: self.reversal_transaction_id,
            reward_owed: self.reward_owed,
            created_at: self.created_at,
        }
    }
}

pub(super) async fn find_review<C: ConnectionTrait>(tx: &C, id: Uuid) -> Result<Review> {
    db::fetch_one(tx, "SELECT * FROM reviews WHERE id = $1", [id.into()])
        .await?
        .ok_or(DomainError::NotFound("review"))
}

pub async fn review(
    db: &DatabaseConnection,
    allowed: &Allowed<ReviewSubmissions>,
    idem: Option<&Idempotency>,
    submission_id: Uuid,
    spec: ReviewSpec,
) -> Result<ReviewView> {
    let caller = allowed.caller();
    Text::parse("feedback", &spec.feedback, 0, 5000)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    let request = serde_json::json!({ "submission_id": submission_id, "review": spec });
    idempotency::run_optional(db, idem, "review", &request, async |tx| {
        let (review, c) = write(tx, caller, submission_id, &spec, Origin::Manager).await?;
        let authors = blind::authors(tx, Some(caller), c.id, c.status, review.talent_id).await?;
        Ok(review.view(&authors, caller))
    })
    .await
}

/// Who writes a review: a manager (`review`), or an upheld appeal's answer
/// re-scoring the appealed review (`appeal_answer`), which replaces that
/// review in its seat like an overturn, may come from its own reviewer,
/// scores against the appealed review's rubric version and is announced
/// as `submission.rescored`.
pub(super) enum Origin {
    Manager,
    Appeal(RubricVersion),
}

/// Writes a review of submission `submission_id` in `tx`: fills or
/// replaces its seat, settles the submission's outcome and moves the
/// reward once (the one path every review and re-score takes).
pub(super) async fn write(
    tx: &DatabaseTransaction,
    caller: &Caller,
    submission_id: Uuid,
    spec: &ReviewSpec,
    origin: Origin,
) -> Result<(Review, Challenge)> {
    let actor = caller.actor();
    let reviewer = caller
        .user_id()
        .ok_or_else(|| DomainError::bug("a review by a service"))?;
    let feedback = Text::parse("feedback", &spec.feedback, 0, 5000)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    let s = find_submission(tx, submission_id).await?;
    policy::may_review_work_of(caller, s.talent_id)?;
    // The talent's credits first (see `ledger::rewards`), then the seat.
    ledger::lock_account(tx, s.talent_id).await?;
    let mut c = find(tx, s.challenge_id).await?;
    if let Origin::Appeal(rubric) = &origin {
        c.rubric = rubric.clone();
    }
    let panel = c.reviewers_per_submission > 1;
    // With several seats, the submission's row too (after the account,
    // before the seats), so its reviews aggregate one after another and
    // one reviewer's concurrent reviews find each other.
    let s = if panel {
        lock_submission(tx, s.id).await?
    } else {
        s
    };
    let total = reviewable(tx, &s, &c, spec).await?;
    let reviewed = Reviewed {
        submission: s.id,
        talent: s.talent_id,
        track: c.track,
    };
    conflicts::check(tx, caller, reviewer, &reviewed, spec.overturns).await?;
    let at = now();
    // The seat it fills, locked: whoever lands second finds it moved on.
    let seat = seats::for_review(tx, s.id, reviewer, spec.overturns, at).await?;
    let previous = match seat.review_id {
        Some(id) => Some(find_review(tx, id).await?),
        None => None,
    };
    if let (Some(p), Origin::Manager) = (&previous, &origin) {
        policy::may_overturn_review_of(caller, p.reviewer_id)?;
    }
    if seat.claimed_by.is_some_and(|h| h != reviewer) {
        // Another reviewer's claim whose lease ran out ends here.
        queue::lapse(tx, &seat).await?;
    }
    let id = new_id();
    seats::fill(tx, &seat, id, reviewer, at).await?;
    let outputs = i32::try_from(spec.outputs_meeting_standard).unwrap_or_default();
    let replaced = previous.as_ref().map(|p| p.id);
    let settled = if panel {
        let vote = Vote {
            total,
            decision: spec.decision,
            outputs,
        };
        Some(outcome::settle(tx, &s, &c, (seat.seat, vote), id, actor, at).await?)
    } else {
        swap_current(tx, &s, (replaced, id), spec.decision, total, outputs, at).await?;
        None
    };
    let money = match &settled {
        Some(st) => st.money,
        None => {
            let was = previous.as_ref().map(|p| p.decision);
            outcome::move_reward(tx, &s, &c, (was, spec.decision), id, actor).await?
        }
    };
    let written = Written {
        id,
        reviewer,
        seat: seat.seat,
        replaced,
        total,
        outputs,
        at,
        feedback: &feedback,
        money,
    };
    insert_review(tx, &s, &c, spec, &written).await?;
    let review = find_review(tx, id).await?;
    let (before, view) = (
        previous.as_ref().map(audit::json),
        Some(audit::json(&review)),
    );
    match settled {
        None => {
            let decided = ReviewDecided {
                review: review.clone(),
                previous_decision: previous.as_ref().map(|p| p.decision),
                track: c.track,
                certifies_track: c.certifies_track,
                outcome: None,
            };
            match origin {
                Origin::Manager => {
                    let decided = Event::review_decided(decided);
                    events::record_staff_action(tx, actor, submission_id, decided, before, view)
                        .await?;
                }
                // The appeal's answer is the audited action.
                Origin::Appeal(_) => {
                    events::record(tx, submission_id, Event::SubmissionRescored(decided)).await?;
                }
            }
        }
        Some(st) => announce(tx, actor, &c, &review, st, (before, view)).await?,
    }
    Ok((review, c))
}

/// The submission's row, locked for the rest of the transaction (PostgreSQL;
/// SQLite serialises writers), as it is now.
async fn lock_submission(tx: &DatabaseTransaction, id: Uuid) -> Result<SubmissionRow> {
    if tx.get_database_backend() == DbBackend::Postgres {
        db::execute(
            tx,
            "SELECT id FROM submissions WHERE id = $1 FOR NO KEY UPDATE",
            [id.into()],
        )
        .await?;
    }
    find_submission(tx, id).await
}

/// The events of a review of a submission with several seats: the review
/// itself (`review.recorded`, the audited staff action), then what it
/// settled: the tiebreak it made necessary, and the outcome it gave or
/// changed (`submission.reviewed` the first time, `submission.rescored`
/// after), which the tier and pod reactions follow.
async fn announce(
    tx: &DatabaseTransaction,
    actor: Actor,
    c: &Challenge,
    review: &Review,
    st: Settled,
    (before, view): (Option<serde_json::Value>, Option<serde_json::Value>),
) -> Result<()> {
    let subject = review.submission_id;
    let recorded = Event::ReviewRecorded(ReviewRecorded {
        review: review.clone(),
        awaiting: st.awaiting,
    });
    events::record_staff_action(tx, actor, subject, recorded, before, view).await?;
    if let Some(t) = st.tiebreak {
        events::record(tx, subject, Event::ReviewTiebreakNeeded(t)).await?;
    }
    if let Some((was, o)) = st.decided {
        let decided = ReviewDecided {
            review: review.clone(),
            previous_decision: was,
            track: c.track,
            certifies_track: c.certifies_track,
            outcome: Some(o),
        };
        let event = match was {
            None => Event::SubmissionReviewed(decided),
            Some(_) => Event::SubmissionRescored(decided),
        };
        events::record(tx, subject, event).await?;
    }
    Ok(())
}

/// A review of a submission with several seats, as `review.recorded`
/// announces it: one seat filled (or its review replaced).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewRecorded {
    pub review: Review,
    /// How many regular seats still wait for a review (0 once all have one).
    pub awaiting: u32,
}

/// Whether the submission may take this review now: its challenge is
/// judging, it is not withdrawn, and a suspended or erased talent's work is
/// not accepted (nor paid) until an admin reactivates them (rejecting stays
/// possible). Returns the checked total.
async fn reviewable(
    tx: &DatabaseTransaction,
    s: &SubmissionRow,
    c: &Challenge,
    spec: &ReviewSpec,
) -> Result<f64> {
    if c.status != ChallengeStatus::Judging {
        return Err(DomainError::NotJudging);
    }
    if s.status == SubmissionStatus::Withdrawn {
        return Err(DomainError::SubmissionWithdrawn);
    }
    if spec.decision == Decision::Accepted {
        verification::require_active(tx, s.talent_id).await?;
    }
    checked_total(s, c, spec)
}

/// The weighted total of `spec`'s scores, once the outputs count fits the
/// batch and an acceptance reaches the pass mark (422 naming each).
fn checked_total(s: &SubmissionRow, c: &Challenge, spec: &ReviewSpec) -> Result<f64> {
    let total = c.rubric.total(&spec.scores)?;
    let mut errors = Vec::new();
    if !(0..=i64::from(s.batch_size)).contains(&spec.outputs_meeting_standard) {
        errors.push(FieldError::new(
            "outputs_meeting_standard",
            format!("must be between 0 and the batch size ({})", s.batch_size),
        ));
    }
    if spec.decision == Decision::Accepted && total < c.rubric.pass_mark {
        errors.push(FieldError::new(
            "decision",
            format!(
                "accepted needs the pass mark ({}); these scores total {total}",
                c.rubric.pass_mark
            ),
        ));
    }
    if errors.is_empty() {
        Ok(total)
    } else {
        Err(DomainError::Validation(errors))
    }
}

/// Makes review `id` the submission's current one, guarded on the review
/// it replaces (`replaced`) still being current: of concurrent reviews one
/// lands, the rest get `review_conflict`.
async fn swap_current(
    tx: &DatabaseTransaction,
    s: &SubmissionRow,
    (replaced, id): (Option<Uuid>, Uuid),
    decision: Decision,
    total: f64,
    outputs: i32,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut values: Vec<sea_orm::Value> = vec![
        id.into(),
        decision.into(),
        total.into(),
        outputs.into(),
        at.into(),
        s.id.into(),
    ];
    let guard = match replaced {
        Some(current) => {
            values.push(current.into());
            "review_id = $7"
        }
        None => "review_id IS NULL",
    };
    let moved = db::execute(
        tx,
        &format!(
            "UPDATE submissions SET review_id = $1, status = $2, score = $3, outputs_meeting_standard = $4, \
             updated_at = $5 WHERE id = $6 AND {guard}"
        ),
        values,
    )
    .await?;
    if moved == 0 {
        return Err(DomainError::ReviewConflict);
    }
    Ok(())
}

/// What a review adds to its spec when it is written.
struct Written<'a> {
    id: Uuid,
    reviewer: Uuid,
    seat: i16,
    replaced: Option<Uuid>,
    total: f64,
    outputs: i32,
    at: DateTime<Utc>,
    feedback: &'a Text,
    money: ledger::RewardMoves,
}

async fn insert_review(
    tx: &DatabaseTransaction,
    s: &SubmissionRow,
    c: &Challenge,
    spec: &ReviewSpec,
    w: &Written<'_>,
) -> Result<()> {
    db::execute(
        tx,
        "INSERT INTO reviews (id, submission_id, challenge_id, talent_id, reviewer_id, rubric_version, scores, \
         total, decision, outputs_meeting_standard, feedback, overturns_id, reward_transaction_id, \
         reversal_transaction_id, reward_owed, created_at, seat) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        [
            w.id.into(),
            s.id.into(),
            s.challenge_id.into(),
            s.talent_id.into(),
            w.reviewer.into(),
            c.rubric.version.into(),
            serde_json::json!(spec.scores).into(),
            w.total.into(),
            spec.decision.into(),
            w.outputs.into(),
            w.feedback.as_str().into(),
            w.replaced.into(),
            w.money.paid.into(),
            w.money.taken_back.into(),
            w.money.owed.into(),
            w.at.into(),
            w.seat.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A submission's reviews, oldest first: to its talent and to staff
/// (reviewers blind while the challenge is judging; while a seat waits for
/// its review, staff see only their own).
pub async fn list_reviews(
    db: &DatabaseConnection,
    caller: &Caller,
    submission_id: Uuid,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<ReviewView>> {
    let s = find_submission(db, submission_id).await?;
    policy::may_read_reviews_of(caller, s.talent_id)?;
    let status = super::status_of(db, s.challenge_id).await?;
    let authors = blind::authors(db, Some(caller), s.challenge_id, status, s.talent_id).await?;
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM reviews WHERE submission_id = ");
    let p = b.bind(submission_id);
    b.push(&p);
    // Independent reviews: while a seat of the work still waits for its
    // review, staff see only their own reviews of it, so a second or
    // tiebreak reviewer writes without the others' scores in view.
    let me = caller.user_id();
    if me != Some(s.talent_id)
        && db::exists(
            db,
            "SELECT 1 FROM review_seats WHERE submission_id = $1 AND state = 'open'",
            [submission_id.into()],
        )
        .await?
    {
        let p = b.bind(me.unwrap_or_else(Uuid::nil));
        b.push(&format!(" AND reviewer_id = {p}"));
    }
    if let Some(a) = after {
        let p = b.bind(a);
        b.push(&format!(" AND id > {p}"));
    }
    b.push(&format!(" ORDER BY id LIMIT {}", limit.get() + 1));
    let rows: Vec<Review> = db::fetch_all(db, &b.sql, b.values).await?;
    let page = Page::from_rows(rows, limit.get(), |r: &Review| r.id.to_string());
    Ok(page.map(|r| r.view(&authors, caller)))
}

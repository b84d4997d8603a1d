//! Appeals: after a submission's decision, within its challenge's
//! `appeal_window_hours`, its talent appeals one rubric criterion of a
//! review at a time (one appeal per criterion); `appeal_answer` answers
//! them. The window and open appeals hold the challenge's close
//! (`closing::appeals_settled`).

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DeriveActiveEnum,
    EnumIter, FromQueryResult,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::reviews::Review;
use super::submissions::{SubmissionStatus, find_submission};
use super::{ChallengeStatus, find};
use crate::caller::Caller;
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, FieldError, Result};
use crate::events::{self, Event};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy;
use crate::types::{Limit, Text};
use crate::{new_id, now};

/// Where an appeal stands.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum AppealStatus {
    /// Waiting for an answer.
    Open,
    /// The criterion was re-scored (`final_score`).
    Upheld,
    /// The score stands.
    Denied,
}

/// An appeal of one criterion of a review, and its answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct Appeal {
    pub id: Uuid,
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    /// The rubric criterion's key.
    pub criterion: String,
    /// The submission's talent, who filed it.
    pub appellant_id: Uuid,
    /// The review appealed, and its reviewer.
    pub review_id: Uuid,
    pub reviewer_id: Uuid,
    pub reason: String,
    pub status: AppealStatus,
    pub filed_at: DateTime<Utc>,
    /// Until then only the appealed reviewer answers; after, any other
    /// manager without a conflict of interest.
    pub respond_by: DateTime<Utc>,
    #[schema(required = true)]
    pub answered_by: Option<Uuid>,
    #[schema(required = true)]
    pub answered_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub response: Option<String>,
    /// The criterion's score in the appealed review.
    pub initial_score: f64,
    /// The criterion's score after the answer: the new score when upheld,
    /// the initial one when denied; null while open.
    #[schema(required = true)]
    pub final_score: Option<f64>,
    /// The review an upheld appeal's re-score wrote (it replaced the
    /// appealed one in its seat).
    #[schema(required = true)]
    pub rescore_review_id: Option<Uuid>,
}

/// An appeal as its talent files it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealSpec {
    /// The key of a criterion of the appealed review's rubric.
    #[schema(example = "lighting")]
    pub criterion: String,
    /// 1–2,000 characters.
    #[schema(example = "The reflections follow the brief's light sources; see output 2.")]
    pub reason: String,
    /// The review appealed: one of the submission's current reviews (one
    /// per seat). Needed only when it has more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<Uuid>,
}

pub(super) async fn find_appeal<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Appeal> {
    db::fetch_one(db, "SELECT * FROM appeals WHERE id = $1", [id.into()])
        .await?
        .ok_or(DomainError::NotFound("appeal"))
}

#[derive(FromQueryResult)]
struct StatusRow {
    status: ChallengeStatus,
}

/// The challenge's status, its row share-locked (PostgreSQL; SQLite
/// serialises writers) so that a close, which locks it to check the
/// appeals, and a filing follow one another.
async fn locked_status(tx: &DatabaseTransaction, id: Uuid) -> Result<ChallengeStatus> {
    let lock = match tx.get_database_backend() {
        DbBackend::Postgres => " FOR SHARE",
        _ => "",
    };
    db::fetch_one::<StatusRow, _>(
        tx,
        &format!("SELECT status FROM challenges WHERE id = $1{lock}"),
        [id.into()],
    )
    .await?
    .map(|r| r.status)
    .ok_or(DomainError::NotFound("challenge"))
}

/// Files an appeal (its talent only; to anyone else the submission does
/// not exist): after the submission's decision, within the window, while
/// the challenge is judging; one per criterion (409 `appeal_exists`).
pub async fn file(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
    submission_id: Uuid,
    spec: AppealSpec,
) -> Result<Appeal> {
    let reason = Text::parse("reason", &spec.reason, 1, 2000)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    let request = serde_json::json!({ "submission_id": submission_id, "appeal": spec });
    idempotency::run_optional(db, idem, "appeal.file", &request, async |tx| {
        let s = find_submission(tx, submission_id).await?;
        policy::may_appeal_work_of(caller, s.talent_id)?;
        if locked_status(tx, s.challenge_id).await? != ChallengeStatus::Judging {
            return Err(DomainError::AppealWindowClosed(
                "its challenge is no longer judging",
            ));
        }
        let c = find(tx, s.challenge_id).await?;
        let decided = match (s.status, s.review_id) {
            (SubmissionStatus::Accepted | SubmissionStatus::Rejected, Some(r)) => r,
            _ => return Err(DomainError::AppealWindowClosed("it has no decision yet")),
        };
        if c.appeal_window_hours == 0 {
            return Err(DomainError::AppealWindowClosed(
                "its challenge takes no appeals",
            ));
        }
        let at = now();
        let decided_at = super::reviews::find_review(tx, decided).await?.created_at;
        if decided_at + TimeDelta::hours(c.appeal_window_hours.into()) <= at {
            return Err(DomainError::AppealWindowClosed("its appeal window has passed"));
        }
        let review = appealed(tx, s.id, spec.review_id).await?;
        let initial: Option<f64> = serde_json::from_value::<std::collections::BTreeMap<String, f64>>(
            review.scores.clone(),
        )
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("unreadable stored scores: {e}")))?
        .get(&spec.criterion)
        .copied();
        let Some(initial) = initial else {
            return Err(DomainError::field(
                "criterion",
                "is not a criterion of the appealed review's rubric",
            ));
        };
        if db::exists(
            tx,
            "SELECT 1 FROM appeals WHERE submission_id = $1 AND criterion = $2",
            [s.id.into(), spec.criterion.clone().into()],
        )
        .await?
        {
            return Err(DomainError::AppealExists);
        }
        let id = new_id();
        let respond_by = at + TimeDelta::hours(c.appeal_response_hours.into());
        db::execute(
            tx,
            "INSERT INTO appeals (id, submission_id, challenge_id, criterion, appellant_id, review_id, \
             reviewer_id, reason, status, filed_at, respond_by, initial_score) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11)",
            [
                id.into(),
                s.id.into(),
                c.id.into(),
                spec.criterion.clone().into(),
                s.talent_id.into(),
                review.id.into(),
                review.reviewer_id.into(),
                reason.as_str().into(),
                at.into(),
                respond_by.into(),
                initial.into(),
            ],
        )
        .await
        .map_err(|e| match db::violated_unique_constraint(&e) {
            Some("ux_appeals_submission_criterion") => DomainError::AppealExists,
            _ => DomainError::Db(e),
        })?;
        let appeal = find_appeal(tx, id).await?;
        events::record(tx, s.id, Event::AppealFiled(appeal.clone())).await?;
        Ok(appeal)
    })
    .await
}

/// The review appealed: the one named (a current review of one of the
/// submission's seats), or its only current review.
async fn appealed(
    tx: &DatabaseTransaction,
    submission: Uuid,
    named: Option<Uuid>,
) -> Result<Review> {
    let current: Vec<Review> = db::fetch_all(
        tx,
        "SELECT r.* FROM review_seats rs JOIN reviews r ON r.id = rs.review_id \
         WHERE rs.submission_id = $1 AND rs.state = 'filled' ORDER BY rs.seat",
        [submission.into()],
    )
    .await?;
    let field = |m: &str| DomainError::Validation(vec![FieldError::new("review_id", m)]);
    match named {
        Some(id) => current
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| field("is not a current review of this submission")),
        None if current.len() == 1 => current
            .into_iter()
            .next()
            .ok_or_else(|| DomainError::bug("a review that vanished")),
        None => Err(field(
            "is required: this submission has more than one current review; name the one you appeal",
        )),
    }
}

/// A submission's appeals and their answers, oldest first: to its talent
/// and staff (to anyone else the submission does not exist).
pub async fn list_appeals(
    db: &DatabaseConnection,
    caller: &Caller,
    submission_id: Uuid,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Appeal>> {
    let s = find_submission(db, submission_id).await?;
    policy::may_read_reviews_of(caller, s.talent_id)?;
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM appeals WHERE submission_id = ");
    let p = b.bind(submission_id);
    b.push(&p);
    if let Some(a) = after {
        let p = b.bind(a);
        b.push(&format!(" AND id > {p}"));
    }
    b.push(&format!(" ORDER BY id LIMIT {}", limit.get() + 1));
    let rows: Vec<Appeal> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(Page::from_rows(rows, limit.get(), |a: &Appeal| {
        a.id.to_string()
    }))
}

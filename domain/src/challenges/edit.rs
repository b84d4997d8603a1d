//! Editing a challenge: what may change in which status (a draft
//! anything; once open the wording, the reference assets and the rubric;
//! while judging only those; nothing after), checked as a whole spec and
//! written with one update guarded on the status it was checked in.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::lifecycle::{ChallengeSpec, insert_rubric};
use super::rubric::Rubric;
use super::{Challenge, ChallengeStatus, find};
use crate::db;
use crate::error::{DomainError, Result};
use crate::policy::{Allowed, ManageChallenges};
use crate::types::{Track, nullable};
use crate::{audit, now};

/// A change to a challenge. In a draft anything may change; once open only
/// the wording, the reference assets, the rubric (a new version) and the
/// review panel (`reviewers_per_submission`, `disagreement_threshold`) and
/// the appeal hours (`appeal_window_hours`, `appeal_response_hours`:
/// seats open when judging starts, so they are fixed from then on); while
/// judging only the wording, assets and rubric; nothing after.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengePatch {
    pub title: Option<String>,
    pub brief: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Track>)]
    pub track: Option<Option<Track>>,
    pub min_tier: Option<i64>,
    pub max_tier: Option<i64>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub review_due_at: Option<DateTime<Utc>>,
    pub max_submissions_per_talent: Option<i64>,
    pub reward: Option<i64>,
    pub prizes: Option<Vec<i64>>,
    pub reference_assets: Option<Vec<String>>,
    /// A new rubric: a new version; past reviews keep theirs.
    pub rubric: Option<Rubric>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Track>)]
    pub certifies_track: Option<Option<Track>>,
    /// 1–3; until judging starts.
    #[schema(minimum = 1, maximum = 3)]
    pub reviewers_per_submission: Option<i64>,
    /// 0–100 points of the weighted total; until judging starts.
    #[schema(minimum = 0, maximum = 100)]
    pub disagreement_threshold: Option<f64>,
    /// 0–720 hours (0: no appeals); until judging starts.
    #[schema(minimum = 0, maximum = 720)]
    pub appeal_window_hours: Option<i64>,
    /// 1–720 hours; until judging starts.
    #[schema(minimum = 1, maximum = 720)]
    pub appeal_response_hours: Option<i64>,
}

impl ChallengePatch {
    /// The fields sent, by name, and whether each is open in `status`.
    fn locked(&self, status: ChallengeStatus) -> Vec<&'static str> {
        use ChallengeStatus::*;
        let sent = [
            (
                "title",
                self.title.is_some(),
                [Draft, Open, Judging].as_slice(),
            ),
            ("brief", self.brief.is_some(), &[Draft, Open, Judging]),
            (
                "reference_assets",
                self.reference_assets.is_some(),
                &[Draft, Open, Judging],
            ),
            ("rubric", self.rubric.is_some(), &[Draft, Open, Judging]),
            ("track", self.track.is_some(), &[Draft]),
            ("min_tier", self.min_tier.is_some(), &[Draft]),
            ("max_tier", self.max_tier.is_some(), &[Draft]),
            ("opens_at", self.opens_at.is_some(), &[Draft]),
            ("closes_at", self.closes_at.is_some(), &[Draft]),
            ("review_due_at", self.review_due_at.is_some(), &[Draft]),
            (
                "max_submissions_per_talent",
                self.max_submissions_per_talent.is_some(),
                &[Draft],
            ),
            ("reward", self.reward.is_some(), &[Draft]),
            ("prizes", self.prizes.is_some(), &[Draft]),
            ("certifies_track", self.certifies_track.is_some(), &[Draft]),
            (
                "reviewers_per_submission",
                self.reviewers_per_submission.is_some(),
                &[Draft, Open],
            ),
            (
                "disagreement_threshold",
                self.disagreement_threshold.is_some(),
                &[Draft, Open],
            ),
            (
                "appeal_window_hours",
                self.appeal_window_hours.is_some(),
                &[Draft, Open],
            ),
            (
                "appeal_response_hours",
                self.appeal_response_hours.is_some(),
                &[Draft, Open],
            ),
        ];
        sent.iter()
            .filter(|(_, is_sent, open_in)| *is_sent && !open_in.contains(&status))
            .map(|(name, _, _)| *name)
            .collect()
    }

    fn apply(self, c: &Challenge) -> ChallengeSpec {
        ChallengeSpec {
            title: self.title.unwrap_or_else(|| c.title.clone()),
            brief: self.brief.unwrap_or_else(|| c.brief.clone()),
            track: self.track.unwrap_or(c.track),
            min_tier: self.min_tier.unwrap_or(c.min_tier.get().into()),
            max_tier: self.max_tier.unwrap_or(c.max_tier.get().into()),
            opens_at: self.opens_at.unwrap_or(c.opens_at),
            closes_at: self.closes_at.unwrap_or(c.closes_at),
            review_due_at: self.review_due_at.unwrap_or(c.review_due_at),
            max_submissions_per_talent: self
                .max_submissions_per_talent
                .unwrap_or(c.max_submissions_per_talent.into()),
            reward: self.reward.unwrap_or(c.reward),
            prizes: self.prizes.unwrap_or_else(|| c.prizes.clone()),
            reference_assets: self
                .reference_assets
                .unwrap_or_else(|| c.reference_assets.clone()),
            rubric: self.rubric.unwrap_or_else(|| Rubric {
                criteria: c.rubric.criteria.clone(),
                pass_mark: c.rubric.pass_mark,
            }),
            certifies_track: self.certifies_track.unwrap_or(c.certifies_track),
            reviewers_per_submission: Some(
                self.reviewers_per_submission
                    .unwrap_or(c.reviewers_per_submission.into()),
            ),
            disagreement_threshold: Some(
                self.disagreement_threshold
                    .unwrap_or(c.disagreement_threshold),
            ),
            appeal_window_hours: Some(
                self.appeal_window_hours
                    .unwrap_or(c.appeal_window_hours.into()),
            ),
            appeal_response_hours: Some(
                self.appeal_response_hours
                    .unwrap_or(c.appeal_response_hours.into()),
            ),
        }
    }
}

pub async fn update(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageChallenges>,
    id: Uuid,
    patch: ChallengePatch,
) -> Result<Challenge> {
    let actor = allowed.caller().actor();
    let txn = db::begin_write(db).await?;
    let before = find(&txn, id).await?;
    let locked = patch.locked(before.status);
    if !locked.is_empty() {
        return Err(DomainError::FieldLocked {
            status: before.status,
            fields: locked,
        });
    }
    let new_rubric = patch.rubric.is_some();
    let spec = patch.apply(&before);
    let c = spec.check()?;
    let version = before.rubric.version + i32::from(new_rubric);
    // Guarded by the status read above: a transition in between makes this
    // change land on nothing, and the caller retries against the new status.
    let changed = db::execute(
        &txn,
        "UPDATE challenges SET title = $1, brief = $2, track = $3, min_tier = $4, max_tier = $5, \
         opens_at = $6, closes_at = $7, review_due_at = $8, max_submissions_per_talent = $9, reward = $10, \
         prizes = $11, reference_assets = $12, certifies_track = $13, reviewers_per_submission = $14, \
         disagreement_threshold = $15, appeal_window_hours = $16, appeal_response_hours = $17, \
         rubric_version = $18, updated_at = $19 WHERE id = $20 AND status = $21",
        c.values(&spec).into_iter().chain([
            version.into(),
            now().into(),
            id.into(),
            before.status.into(),
        ]),
    )
    .await?;
    if changed == 0 {
        return Err(DomainError::FieldLocked {
            status: find(&txn, id).await?.status,
            fields: vec![],
        });
    }
    if new_rubric {
        insert_rubric(&txn, id, version, &spec.rubric, actor).await?;
    }
    let after = find(&txn, id).await?;
    let (b, a) = (Some(audit::json(&before)), Some(audit::json(&after)));
    audit::record(
        &txn,
        actor,
        "challenge.update",
        "challenge",
        Some(id.to_string()),
        b,
        a,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

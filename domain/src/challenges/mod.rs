//! Challenges: briefs with a visual standard (a versioned rubric), their
//! lifecycle `draft → open → judging → closed` (or `cancelled`) driven by
//! managers and by the clock, submissions by eligible talent, rubric reviews
//! that pay rewards exactly once, prizes at close, leaderboards and the
//! bulk-run success rate. Rooms: `lifecycle` (create, transitions, clock),
//! `edit` (what may change in which status), `closing` (prizes), `rubric`,
//! `submissions`, `reviews`, `seats` (the reviews a submission needs),
//! `panel` (how many reviewers, and what their reviews add up to),
//! `outcome` (a submission's aggregate outcome with several reviewers),
//! `queue` (claiming seats under a lease), `conflicts` (of interest),
//! `blind` (what reviewers see of an author), `standings` (leaderboards
//! and bulk-run success), `review_metrics` (the backlog and reviewers'
//! agreement) over `agreement` (Krippendorff's alpha), `appeals` (a
//! talent's appeal of a criterion) and
//! `appeal_answer` (answering one, re-scoring through `reviews`).

pub mod agreement;
mod appeal_answer;
mod appeals;
mod blind;
mod closing;
mod conflicts;
mod edit;
mod lifecycle;
mod outcome;
mod panel;
mod queue;
mod review_metrics;
mod reviews;
pub mod rubric;
mod seats;
mod standings;
mod submissions;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use appeal_answer::{AppealAnswer, AppealOutcome, answer};
pub use appeals::{Appeal, AppealSpec, AppealStatus, file, list_appeals};
pub use blind::alias;
pub use edit::{ChallengePatch, update};
pub use lifecycle::{
    ChallengeFilter, ChallengeSpec, Transition, advance_clock, create, get, list, transition,
};
pub use outcome::TiebreakNeeded;
pub use panel::{Decision, Disagreement, Outcome};
pub use queue::{
    ClaimSpec, ClaimedWork, QueueFilter, QueueLine, claim, expire_leases, extend, next_seat_query,
    queue, release,
};
pub use review_metrics::{MetricsFilter, ReviewMetrics, ReviewerMetrics, review_metrics};
pub use reviews::{Review, ReviewRecorded, ReviewSpec, ReviewView, list_reviews, review};
pub use rubric::{Criterion, Rubric, RubricVersion};
pub use seats::{Claim, ReviewsNeeded, SeatKind, sweep_seats};
pub use standings::{
    BulkRun, Leaderboard, LeaderboardEntry, TalentBulkRun, TrackBulkRun, all_standings,
    bulk_run_of_challenge, bulk_run_of_talent, leaderboard_access, leaderboard_offset,
    leaderboard_page,
};
pub use submissions::{
    Submission, SubmissionFilter, SubmissionPatch, SubmissionSpec, SubmissionStatus,
    get_submission, list_submissions, submit, update_submission, withdraw, withdraw_waiting_of,
};

pub use crate::enums::ChallengeStatus;

use crate::db;
use crate::error::{DomainError, Result};
use crate::types::{Tier, Track};

/// A challenge as everyone sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    pub id: Uuid,
    pub title: String,
    pub brief: String,
    /// The role track it practises; null for any track.
    #[schema(required = true)]
    pub track: Option<Track>,
    /// Eligible tiers in `track` (or headline tier without a track), inclusive.
    #[schema(value_type = i16, minimum = 0, maximum = 5)]
    pub min_tier: Tier,
    #[schema(value_type = i16, minimum = 0, maximum = 5)]
    pub max_tier: Tier,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub review_due_at: DateTime<Utc>,
    pub max_submissions_per_talent: i32,
    /// Credits paid for each accepted submission.
    pub reward: i64,
    /// Credits for place 1, 2, … at close.
    pub prizes: Vec<i64>,
    pub reference_assets: Vec<String>,
    /// The current rubric.
    pub rubric: RubricVersion,
    /// Passing this challenge is evidence for certification in this track.
    #[schema(required = true)]
    pub certifies_track: Option<Track>,
    /// Regular reviews each submission gets (1–3). With more than one, the
    /// submission's decision and score are theirs together: the mean of
    /// their weighted totals and their common decision; when they disagree
    /// (decisions differ, or totals further apart than
    /// `disagreement_threshold`) a tiebreak review is needed, and then the
    /// median of all the totals and the majority's decision count
    /// (acceptance always needs the pass mark).
    #[schema(minimum = 1, maximum = 3)]
    pub reviewers_per_submission: i16,
    /// The largest gap between the regular reviewers' weighted totals
    /// (points of the 0–100 total, like `pass_mark`) that is not a
    /// disagreement.
    #[schema(minimum = 0, maximum = 100)]
    pub disagreement_threshold: f64,
    /// Hours after a submission's decision during which its talent may
    /// appeal a criterion (0: no appeals). The challenge does not close
    /// while a window runs or an appeal is open.
    #[schema(minimum = 0, maximum = 720)]
    pub appeal_window_hours: i32,
    /// Hours the appealed reviewer has to answer an appeal; after that any
    /// other manager without a conflict of interest answers it.
    #[schema(minimum = 1, maximum = 720)]
    pub appeal_response_hours: i32,
    pub status: ChallengeStatus,
    #[schema(required = true)]
    pub cancel_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A challenge row with its current rubric.
#[derive(Debug, FromQueryResult)]
struct ChallengeRow {
    id: Uuid,
    title: String,
    brief: String,
    track: Option<Track>,
    min_tier: Tier,
    max_tier: Tier,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    review_due_at: DateTime<Utc>,
    max_submissions_per_talent: i32,
    reward: i64,
    prizes: serde_json::Value,
    reference_assets: serde_json::Value,
    certifies_track: Option<Track>,
    reviewers_per_submission: i16,
    disagreement_threshold: f64,
    appeal_window_hours: i32,
    appeal_response_hours: i32,
    rubric_version: i32,
    status: ChallengeStatus,
    cancel_reason: Option<String>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    criteria: serde_json::Value,
    pass_mark: f64,
}

/// A stored JSON column decoded into `T`, or a decode error (never a default).
fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("unreadable stored {what}: {e}")))
}

impl TryFrom<ChallengeRow> for Challenge {
    type Error = DomainError;
    fn try_from(r: ChallengeRow) -> Result<Self> {
        Ok(Self {
            id: r.id,
            title: r.title,
            brief: r.brief,
            track: r.track,
            min_tier: r.min_tier,
            max_tier: r.max_tier,
            opens_at: r.opens_at,
            closes_at: r.closes_at,
            review_due_at: r.review_due_at,
            max_submissions_per_talent: r.max_submissions_per_talent,
            reward: r.reward,
            prizes: decode(r.prizes, "prizes")?,
            reference_assets: decode(r.reference_assets, "reference assets")?,
            rubric: RubricVersion {
                version: r.rubric_version,
                criteria: decode(r.criteria, "rubric")?,
                pass_mark: r.pass_mark,
            },
            certifies_track: r.certifies_track,
            reviewers_per_submission: r.reviewers_per_submission,
            disagreement_threshold: r.disagreement_threshold,
            appeal_window_hours: r.appeal_window_hours,
            appeal_response_hours: r.appeal_response_hours,
            status: r.status,
            cancel_reason: r.cancel_reason,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl Challenge {
    /// Its review panel, with the current rubric's pass mark.
    pub(super) fn panel(&self) -> panel::Panel {
        panel::Panel {
            reviewers: self.reviewers_per_submission,
            threshold: self.disagreement_threshold,
            pass_mark: self.rubric.pass_mark,
        }
    }
}

const CHALLENGE_SQL: &str = "SELECT c.*, r.criteria, r.pass_mark FROM challenges c \
     JOIN rubric_versions r ON r.challenge_id = c.id AND r.version = c.rubric_version";

/// A challenge by id, for anyone (drafts included: callers decide who sees them).
async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Challenge> {
    db::fetch_one::<ChallengeRow, _>(db, &format!("{CHALLENGE_SQL} WHERE c.id = $1"), [id.into()])
        .await?
        .ok_or(DomainError::NotFound("challenge"))?
        .try_into()
}

#[derive(FromQueryResult)]
struct StatusRow {
    status: ChallengeStatus,
}

/// A challenge's status alone (for checks on hot paths).
async fn status_of<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<ChallengeStatus> {
    db::fetch_one::<StatusRow, _>(
        db,
        "SELECT status FROM challenges WHERE id = $1",
        [id.into()],
    )
    .await?
    .map(|r| r.status)
    .ok_or(DomainError::NotFound("challenge"))
}

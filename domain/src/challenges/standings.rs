//! Standings: a challenge's leaderboard (each talent's best accepted
//! submission; higher score first, then the earlier submission), computed
//! from the database, the source of truth; and the bulk-run success rate —
//! the studio's QC measure: a batch succeeds when at least one of its
//! outputs met the visual standard.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ChallengeStatus;
use crate::caller::Caller;
use crate::db;
use crate::error::{DomainError, Result};
use crate::policy;
use crate::types::{Limit, Track};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaderboardEntry {
    /// 1 for the best; ties go to the earlier submission.
    pub rank: i64,
    pub talent_id: Uuid,
    pub handle: String,
    pub score: f64,
    pub submission_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Leaderboard {
    pub items: Vec<LeaderboardEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(FromQueryResult)]
struct Standing {
    submission_id: Uuid,
    talent_id: Uuid,
    handle: String,
    score: f64,
    #[expect(dead_code, reason = "ordered by, not shown")]
    created_at: DateTime<Utc>,
}

/// Each talent's best accepted submission, best first, from `offset`
/// (`/*talents*/`: which talents take part).
const STANDINGS_SQL: &str = "SELECT submission_id, talent_id, handle, score, created_at FROM ( \
       SELECT s.id AS submission_id, s.talent_id, u.handle, s.score, s.created_at, \
              ROW_NUMBER() OVER (PARTITION BY s.talent_id ORDER BY s.score DESC, s.created_at, s.id) AS nth \
         FROM submissions s JOIN users u ON u.id = s.talent_id \
        WHERE s.challenge_id = $1 AND s.status = 'accepted' /*talents*/ \
     ) best WHERE nth = 1 ORDER BY score DESC, created_at, submission_id";

async fn standings<C: ConnectionTrait>(
    db: &C,
    challenge: Uuid,
    offset: u64,
    limit: u64,
) -> Result<Vec<LeaderboardEntry>> {
    ranked(db, STANDINGS_SQL, challenge, offset, limit).await
}

async fn ranked<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    challenge: Uuid,
    offset: u64,
    limit: u64,
) -> Result<Vec<LeaderboardEntry>> {
    let rows: Vec<Standing> = db::fetch_all(
        db,
        &format!("{sql} LIMIT {limit} OFFSET {offset}"),
        [challenge.into()],
    )
    .await?;
    Ok(rows
        .into_iter()
        .zip(offset + 1..)
        .map(|(r, rank)| LeaderboardEntry {
            rank: rank as i64,
            talent_id: r.talent_id,
            handle: r.handle,
            score: r.score,
            submission_id: r.submission_id,
        })
        .collect())
}

/// The first `n` places among active talents (for prizes: a suspended or
/// erased talent earns none, and the places go to the next).
pub(super) async fn prize_places<C: ConnectionTrait>(
    db: &C,
    challenge: Uuid,
    n: u64,
) -> Result<Vec<LeaderboardEntry>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let sql = STANDINGS_SQL.replace("/*talents*/", "AND u.status = 'active'");
    ranked(db, &sql, challenge, 0, n).await
}

/// Whether `caller` may read a challenge's leaderboard: public once it is
/// judging; staff see it sooner; a draft's exists only for staff.
pub async fn leaderboard_access(
    db: &DatabaseConnection,
    caller: Option<&Caller>,
    challenge: Uuid,
) -> Result<()> {
    // On every leaderboard read: the status alone, not the whole challenge.
    let status = super::status_of(db, challenge).await?;
    let staff = caller.is_some_and(policy::is_staff);
    match status {
        ChallengeStatus::Draft if !staff => Err(DomainError::NotFound("challenge")),
        ChallengeStatus::Judging | ChallengeStatus::Closed => Ok(()),
        _ if staff => Ok(()),
        _ => Err(DomainError::NotFound("leaderboard")),
    }
}

/// The offset a leaderboard cursor stands for.
pub fn leaderboard_offset(cursor: Option<&str>) -> Result<u64> {
    Ok(crate::page::decode(cursor)?.unwrap_or(0))
}

/// A page of a leaderboard from `offset`, given one more entry than `limit`
/// if there are more.
pub fn leaderboard_page(
    mut items: Vec<LeaderboardEntry>,
    offset: u64,
    limit: Limit,
) -> Leaderboard {
    let more = items.len() as u64 > limit.get();
    items.truncate(limit.get() as usize);
    let next_cursor = more.then(|| crate::page::encode(&(offset + limit.get()).to_string()));
    Leaderboard { items, next_cursor }
}

/// Every place of a challenge's leaderboard, for a cache to hold.
pub async fn all_standings(
    db: &DatabaseConnection,
    challenge: Uuid,
) -> Result<Vec<LeaderboardEntry>> {
    standings(db, challenge, 0, i64::MAX as u64).await
}

/// Reviewed batches, how many succeeded, and the rate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct BulkRun {
    pub reviewed_batches: i64,
    pub successful_batches: i64,
    /// successful / reviewed; null before any review.
    #[schema(required = true)]
    pub rate: Option<f64>,
}

/// A talent's bulk-run success, overall and per track.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TalentBulkRun {
    pub overall: BulkRun,
    pub tracks: Vec<TrackBulkRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackBulkRun {
    pub track: Track,
    #[serde(flatten)]
    pub bulk_run: BulkRun,
}

#[derive(FromQueryResult)]
struct Counts {
    track: Option<Track>,
    reviewed: i64,
    successful: i64,
}

fn rate(reviewed: i64, successful: i64) -> BulkRun {
    BulkRun {
        reviewed_batches: reviewed,
        successful_batches: successful,
        rate: (reviewed > 0).then(|| successful as f64 / reviewed as f64),
    }
}

const COUNTS: &str = "CAST(COUNT(*) AS BIGINT) AS reviewed, \
     CAST(COALESCE(SUM(CASE WHEN s.outputs_meeting_standard >= 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS successful";

/// One aggregate query per talent: reviewed batches by track.
pub async fn bulk_run_of_talent<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<TalentBulkRun> {
    let rows: Vec<Counts> = db::fetch_all(
        db,
        &format!(
            "SELECT c.track, {COUNTS} FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
             WHERE s.talent_id = $1 AND s.status IN ('accepted', 'rejected') GROUP BY c.track"
        ),
        [talent.into()],
    )
    .await?;
    let (reviewed, successful) = rows
        .iter()
        .fold((0, 0), |(r, s), c| (r + c.reviewed, s + c.successful));
    let mut tracks: Vec<TrackBulkRun> = rows
        .iter()
        .filter_map(|c| {
            c.track.map(|track| TrackBulkRun {
                track,
                bulk_run: rate(c.reviewed, c.successful),
            })
        })
        .collect();
    tracks.sort_by_key(|t| t.track);
    Ok(TalentBulkRun {
        overall: rate(reviewed, successful),
        tracks,
    })
}

/// A challenge's bulk-run success.
pub async fn bulk_run_of_challenge<C: ConnectionTrait>(db: &C, challenge: Uuid) -> Result<BulkRun> {
    let row: Option<Counts> = db::fetch_one(
        db,
        &format!(
            "SELECT NULL AS track, {COUNTS} FROM submissions s \
             WHERE s.challenge_id = $1 AND s.status IN ('accepted', 'rejected')"
        ),
        [challenge.into()],
    )
    .await?;
    Ok(row.map_or_else(BulkRun::default, |c| rate(c.reviewed, c.successful)))
}

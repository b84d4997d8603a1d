//! Review seats: each review a submission needs is a seat (`review_seats`),
//! opened when its challenge enters judging, claimable from the queue with
//! a lease (`queue`), and filled by one current review, which an overturn
//! replaces. The seat row is what concurrent reviewers and claimers lock:
//! of two reviews for one seat one lands, of two claims one holds it.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DeriveActiveEnum, EnumIter, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db;
use crate::error::{DomainError, Result};
use crate::events::{self, Event};
use crate::types::Track;

/// What a seat's review is for.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum SeatKind {
    /// One of the reviews every submission of the challenge gets.
    Regular,
    /// The extra review that settles a disagreement.
    Tiebreak,
}

/// Where a seat stands.
// Stored as text; an unknown value is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub(super) enum SeatState {
    /// Needs a review.
    Open,
    /// Has its review.
    Filled,
    /// No longer needed (the challenge closed).
    Void,
}

#[derive(Debug, Clone, FromQueryResult)]
pub(super) struct SeatRow {
    pub submission_id: Uuid,
    pub seat: i16,
    pub challenge_id: Uuid,
    pub track: Option<Track>,
    pub kind: SeatKind,
    pub state: SeatState,
    /// The last claim, live or lapsed (`claimed_by` is null once lapsed).
    pub claim_id: Option<Uuid>,
    pub claimed_by: Option<Uuid>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub review_id: Option<Uuid>,
}

impl SeatRow {
    /// Who holds the seat at `at` under a live lease.
    pub(super) fn holder_at(&self, at: DateTime<Utc>) -> Option<Uuid> {
        self.claimed_by
            .filter(|_| self.lease_expires_at.is_some_and(|l| l > at))
    }

    /// The seat's claim as the API and the events show it, if it has one.
    pub(super) fn claim(&self) -> Option<Claim> {
        Some(Claim {
            id: self.claim_id?,
            submission_id: self.submission_id,
            challenge_id: self.challenge_id,
            track: self.track,
            seat: self.seat,
            kind: self.kind,
            reviewer_id: self.claimed_by?,
            claimed_at: self.claimed_at?,
            lease_expires_at: self.lease_expires_at?,
        })
    }
}

/// A reviewer's hold on a review seat, until its lease runs out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Claim {
    /// The claim's id (to extend or release it).
    pub id: Uuid,
    pub submission_id: Uuid,
    pub challenge_id: Uuid,
    /// The challenge's track.
    #[schema(required = true)]
    pub track: Option<Track>,
    /// Which of the submission's seats: 1… for the regular reviews, the
    /// tiebreak seat after them.
    pub seat: i16,
    pub kind: SeatKind,
    /// Who holds it.
    pub reviewer_id: Uuid,
    pub claimed_at: DateTime<Utc>,
    /// Until then the seat is the reviewer's; after it, back in the queue.
    pub lease_expires_at: DateTime<Utc>,
}

/// Seats opened for review, as `review.needed` announces them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewsNeeded {
    pub challenge_id: Uuid,
    #[schema(required = true)]
    pub track: Option<Track>,
    pub kind: SeatKind,
    /// How many seats opened.
    pub seats: u64,
}

/// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, whose writers are
/// serialised (`db::begin_write`).
pub(super) fn for_update<C: ConnectionTrait>(db: &C, clause: &'static str) -> &'static str {
    if db.get_database_backend() == DbBackend::Postgres {
        clause
    } else {
        ""
    }
}

/// Seats 1 to the challenge's `reviewers_per_submission` (at most 3).
const OPEN_REGULAR_SEATS: &str = "INSERT INTO review_seats (submission_id, seat, challenge_id, talent_id, track, \
     kind, state, submitted_at, opened_at, updated_at) \
     SELECT s.id, k.n, s.challenge_id, s.talent_id, c.track, 'regular', 'open', s.created_at, $1, $1 \
     FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
     JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) k ON k.n <= c.reviewers_per_submission \
     WHERE c.status = 'judging' AND s.status = 'submitted'";

#[derive(FromQueryResult)]
struct Opened {
    challenge_id: Uuid,
    track: Option<Track>,
}

/// Opens the regular seats (one per reviewer) of every submission waiting in challenge
/// `challenge` (one that has just entered judging) and announces them.
pub(super) async fn open_for_challenge<C: ConnectionTrait>(
    db: &C,
    challenge: Uuid,
    at: DateTime<Utc>,
) -> Result<u64> {
    let opened: Vec<Opened> = db::fetch_all(
        db,
        &format!(
            "{OPEN_REGULAR_SEATS} AND s.challenge_id = $2 ON CONFLICT DO NOTHING \
             RETURNING challenge_id, track"
        ),
        [at.into(), challenge.into()],
    )
    .await?;
    announce(db, &opened).await?;
    Ok(opened.len() as u64)
}

/// The job: seats for waiting submissions of judging challenges that have
/// none (one that landed while its challenge moved to judging), and voids
/// open seats no longer needed (the challenge is not judging, or the work
/// was withdrawn). Returns how many seats it opened and voided.
pub async fn sweep_seats<C: ConnectionTrait>(db: &C, at: DateTime<Utc>) -> Result<(u64, u64)> {
    let opened: Vec<Opened> = db::fetch_all(
        db,
        &format!(
            "{OPEN_REGULAR_SEATS} AND NOT EXISTS (SELECT 1 FROM review_seats rs WHERE rs.submission_id = s.id) \
             ON CONFLICT DO NOTHING RETURNING challenge_id, track"
        ),
        [at.into()],
    )
    .await?;
    announce(db, &opened).await?;
    let voided = db::execute(
        db,
        &format!(
            "{VOID} WHERE state = 'open' AND (\
             NOT EXISTS (SELECT 1 FROM challenges c WHERE c.id = review_seats.challenge_id AND c.status = 'judging') \
             OR EXISTS (SELECT 1 FROM submissions s WHERE s.id = review_seats.submission_id AND s.status = 'withdrawn'))"
        ),
        [at.into()],
    )
    .await?;
    Ok((opened.len() as u64, voided))
}

/// One `review.needed` per challenge that got seats.
async fn announce<C: ConnectionTrait>(db: &C, opened: &[Opened]) -> Result<()> {
    let mut per_challenge: Vec<(Uuid, Option<Track>, u64)> = Vec::new();
    for o in opened {
        match per_challenge
            .iter_mut()
            .find(|(c, _, _)| *c == o.challenge_id)
        {
            Some((_, _, n)) => *n += 1,
            None => per_challenge.push((o.challenge_id, o.track, 1)),
        }
    }
    for (challenge_id, track, seats) in per_challenge {
        let needed = ReviewsNeeded {
            challenge_id,
            track,
            kind: SeatKind::Regular,
            seats,
        };
        events::record(db, challenge_id, Event::ReviewNeeded(needed)).await?;
    }
    Ok(())
}

const VOID: &str = "UPDATE review_seats SET state = 'void', claimed_by = NULL, updated_at = $1";

/// A closing challenge's open seats are no longer needed.
pub(super) async fn void_open<C: ConnectionTrait>(
    db: &C,
    challenge: Uuid,
    at: DateTime<Utc>,
) -> Result<u64> {
    Ok(db::execute(
        db,
        &format!("{VOID} WHERE challenge_id = $2 AND state = 'open'"),
        [at.into(), challenge.into()],
    )
    .await?)
}

/// The seat a review by `reviewer` goes to, locked for the rest of the
/// transaction. An overturn names the current review of a seat (409
/// `review_conflict` when no seat has it: another review replaced it
/// first). A first review takes the seat the reviewer claimed, or else an
/// open seat nobody holds (409 `seat_claimed` when every open seat is
/// another reviewer's; `review_conflict` when none is open: the reviews
/// landed first).
pub(super) async fn for_review<C: ConnectionTrait>(
    db: &C,
    submission: Uuid,
    reviewer: Uuid,
    overturns: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<SeatRow> {
    let lock = for_update(db, " FOR UPDATE");
    if let Some(review) = overturns {
        return db::fetch_one(
            db,
            &format!(
                "SELECT * FROM review_seats WHERE submission_id = $1 AND review_id = $2 \
                 AND state = 'filled'{lock}"
            ),
            [submission.into(), review.into()],
        )
        .await?
        .ok_or(DomainError::ReviewConflict);
    }
    if let Some(seat) = open_seat(db, submission, reviewer, at, lock).await? {
        return Ok(seat);
    }
    let seats: Vec<SeatRow> = db::fetch_all(
        db,
        "SELECT * FROM review_seats WHERE submission_id = $1",
        [submission.into()],
    )
    .await?;
    if seats.is_empty() {
        // Landed while its challenge moved to judging: its seats open now
        // (the job would, soon).
        open_for_submission(db, submission, at).await?;
        return open_seat(db, submission, reviewer, at, lock)
            .await?
            .ok_or(DomainError::ReviewConflict);
    }
    if seats.iter().any(|s| s.state == SeatState::Open) {
        Err(DomainError::SeatClaimed)
    } else {
        Err(DomainError::ReviewConflict)
    }
}

/// The open seat of `submission` that `reviewer` may take at `at`: their
/// own claim first, then the lowest seat nobody holds.
pub(super) async fn open_seat<C: ConnectionTrait>(
    db: &C,
    submission: Uuid,
    reviewer: Uuid,
    at: DateTime<Utc>,
    lock: &str,
) -> Result<Option<SeatRow>> {
    Ok(db::fetch_one(
        db,
        &format!(
            "SELECT * FROM review_seats WHERE submission_id = $1 AND state = 'open' \
             AND (claimed_by IS NULL OR lease_expires_at <= $2 OR claimed_by = $3) \
             ORDER BY CASE WHEN claimed_by = $3 THEN 0 ELSE 1 END, seat LIMIT 1{lock}"
        ),
        [submission.into(), at.into(), reviewer.into()],
    )
    .await?)
}

async fn open_for_submission<C: ConnectionTrait>(
    db: &C,
    submission: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let opened: Vec<Opened> = db::fetch_all(
        db,
        &format!(
            "{OPEN_REGULAR_SEATS} AND s.id = $2 ON CONFLICT DO NOTHING RETURNING challenge_id, track"
        ),
        [at.into(), submission.into()],
    )
    .await?;
    announce(db, &opened).await
}

/// Review `review` by `reviewer` becomes `seat`'s current one, guarded on
/// the review it replaces (none for a first review); the seat's claim ends.
pub(super) async fn fill<C: ConnectionTrait>(
    db: &C,
    seat: &SeatRow,
    review: Uuid,
    reviewer: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut values: Vec<sea_orm::Value> = vec![
        review.into(),
        reviewer.into(),
        at.into(),
        seat.submission_id.into(),
        seat.seat.into(),
    ];
    let guard = match seat.review_id {
        Some(current) => {
            values.push(current.into());
            "review_id = $6"
        }
        None => "review_id IS NULL AND state = 'open'",
    };
    let filled = db::execute(
        db,
        &format!(
            "UPDATE review_seats SET state = 'filled', review_id = $1, reviewer_id = $2, claim_id = NULL, \
             claimed_by = NULL, claimed_at = NULL, lease_expires_at = NULL, updated_at = $3 \
             WHERE submission_id = $4 AND seat = $5 AND {guard}"
        ),
        values,
    )
    .await?;
    if filled == 0 {
        return Err(DomainError::ReviewConflict);
    }
    Ok(())
}

/// The submission's tiebreak seat (seat `seat`, after the regular ones)
/// opens: anew, or again when an overturn had settled the disagreement
/// that first opened it. Returns whether it opened (false: open already).
pub(super) async fn open_tiebreak<C: ConnectionTrait>(
    db: &C,
    submission: Uuid,
    seat: i16,
    at: DateTime<Utc>,
) -> Result<bool> {
    let reopened = db::execute(
        db,
        "UPDATE review_seats SET state = 'open', claim_id = NULL, claimed_by = NULL, claimed_at = NULL, \
         lease_expires_at = NULL, updated_at = $1 \
         WHERE submission_id = $2 AND kind = 'tiebreak' AND state = 'void' AND review_id IS NULL",
        [at.into(), submission.into()],
    )
    .await?;
    if reopened > 0 {
        return Ok(true);
    }
    let opened = db::execute(
        db,
        "INSERT INTO review_seats (submission_id, seat, challenge_id, talent_id, track, kind, state, \
         submitted_at, opened_at, updated_at) \
         SELECT submission_id, $1, challenge_id, talent_id, track, 'tiebreak', 'open', submitted_at, $2, $2 \
         FROM review_seats WHERE submission_id = $3 AND seat = 1 \
         AND NOT EXISTS (SELECT 1 FROM review_seats t WHERE t.submission_id = $3 AND t.kind = 'tiebreak')",
        [seat.into(), at.into(), submission.into()],
    )
    .await?;
    Ok(opened > 0)
}

/// The submission's open tiebreak seat is no longer needed (an overturn
/// settled the disagreement); a claim on it ends as at a close.
pub(super) async fn void_tiebreak<C: ConnectionTrait>(
    db: &C,
    submission: Uuid,
    at: DateTime<Utc>,
) -> Result<u64> {
    Ok(db::execute(
        db,
        &format!("{VOID} WHERE submission_id = $2 AND kind = 'tiebreak' AND state = 'open'"),
        [at.into(), submission.into()],
    )
    .await?)
}

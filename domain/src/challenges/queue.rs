//! The review queue: a reviewer claims the oldest open seat they may take
//! (`claim`), holds it under a lease they may extend or release, and the
//! job returns lapsed seats to the queue. On PostgreSQL the claim locks its
//! seat with `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over
//! each other's rows and never share a seat; SQLite serialises writers.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::blind;
use super::conflicts::{self, Reviewed};
use super::seats::{Claim, SeatRow, for_update, open_seat};
use super::submissions::{Submission, SubmissionStatus, find_submission};
use super::{ChallengeStatus, status_of};
use crate::caller::Caller;
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::events::{self, ClaimReleased, Event};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{self, Allowed, ReviewSubmissions};
use crate::types::{Limit, Track};
use crate::{new_id, now};

/// What to claim: the oldest seat the caller may take, of one challenge or
/// track if named; or a seat of one submission.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    #[serde(default)]
    pub challenge_id: Option<Uuid>,
    #[serde(default)]
    pub track: Option<Track>,
    /// A seat of this submission (403 `conflict_of_interest` naming why
    /// not, 409 `seat_claimed` or `no_open_seat`); your live claim on it,
    /// if you hold one.
    #[serde(default)]
    pub submission_id: Option<Uuid>,
}

/// A claimed seat and the work to review, as its reviewer sees it (blind).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimedWork {
    pub claim: Claim,
    pub submission: Submission,
}

/// Claims a seat for the caller for `lease`; `None` when the queue has
/// nothing the caller may review.
pub async fn claim(
    db: &DatabaseConnection,
    allowed: &Allowed<ReviewSubmissions>,
    idem: Option<&Idempotency>,
    spec: ClaimSpec,
    lease: Duration,
) -> Result<Option<ClaimedWork>> {
    let caller = allowed.caller();
    let me = caller
        .user_id()
        .ok_or_else(|| DomainError::bug("a claim by a service"))?;
    idempotency::run_optional(db, idem, "review.claim", &spec, async |tx| {
        if let Some(k) = idem {
            one_attempt_per_key(tx, k).await?;
        }
        let at = now();
        let seat = match spec.submission_id {
            Some(id) => match seat_of(tx, caller, me, id, at).await? {
                Taken::Mine(seat) => return work(tx, caller, &seat).await.map(Some),
                Taken::Free(seat) => seat,
            },
            None => match next_seat(tx, me, &spec, at).await? {
                Some(seat) => seat,
                None => return Ok(None),
            },
        };
        let taken = take(tx, &seat, me, at, at + lease).await?;
        work(tx, caller, &taken).await.map(Some)
    })
    .await
}

/// Attempts with one idempotency key take turns. A key's outcome is stored
/// after the claim's effect, so without this a retry racing its first
/// attempt would find the seats that attempt holds locked, skip them, answer
/// "nothing to claim" and store that under the key. On PostgreSQL a
/// transaction-scoped advisory lock on the key; SQLite's writes already
/// take turns.
async fn one_attempt_per_key(tx: &DatabaseTransaction, k: &Idempotency) -> Result<()> {
    if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
        db::execute(
            tx,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("review.claim\n{}\n{}", k.scope, k.key).into()],
        )
        .await?;
    }
    Ok(())
}

enum Taken {
    /// The caller's own live claim.
    Mine(SeatRow),
    /// A seat nobody holds, locked.
    Free(SeatRow),
}

/// A seat of submission `id` for `me`, after the conflict rules.
async fn seat_of(
    tx: &DatabaseTransaction,
    caller: &Caller,
    me: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Taken> {
    let s = find_submission(tx, id).await?;
    let c = super::find(tx, s.challenge_id).await?;
    if c.status != ChallengeStatus::Judging {
        return Err(DomainError::NotJudging);
    }
    if s.status == SubmissionStatus::Withdrawn {
        return Err(DomainError::SubmissionWithdrawn);
    }
    let r = Reviewed {
        submission: s.id,
        talent: s.talent_id,
        track: c.track,
    };
    conflicts::check(tx, caller, me, &r, None).await?;
    let lock = for_update(tx, " FOR UPDATE");
    match open_seat(tx, id, me, at, lock).await? {
        Some(seat) if seat.holder_at(at) == Some(me) => Ok(Taken::Mine(seat)),
        Some(seat) => Ok(Taken::Free(seat)),
        None => {
            let open = db::exists(
                tx,
                "SELECT 1 FROM review_seats WHERE submission_id = $1 AND state = 'open'",
                [id.into()],
            )
            .await?;
            Err(if open {
                DomainError::SeatClaimed
            } else {
                DomainError::NoOpenSeat
            })
        }
    }
}

/// The oldest open seat `me` may take, locked (PostgreSQL skips the seats
/// other claimers are locking).
async fn next_seat(
    tx: &DatabaseTransaction,
    me: Uuid,
    spec: &ClaimSpec,
    at: DateTime<Utc>,
) -> Result<Option<SeatRow>> {
    let b = next_seat_query(tx, me, spec, at);
    if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Planning this eight-relation statement costs several times its
        // run (claimbench: ~7 ms against ~1 ms), and PostgreSQL's default
        // keeps planning it afresh for each claim: the connection's
        // prepared statement keeps one generic plan instead.
        db::execute(tx, "SET LOCAL plan_cache_mode = force_generic_plan", []).await?;
    }
    Ok(db::fetch_one(tx, &b.sql, b.values).await?)
}

/// The claim's query on `db`'s backend: the oldest open seat `me` may take
/// at `at` (of `spec`'s challenge or track), locked. Public so that the
/// claim benchmark shows the plan of this very statement.
pub fn next_seat_query<C: ConnectionTrait>(
    db: &C,
    me: Uuid,
    spec: &ClaimSpec,
    at: DateTime<Utc>,
) -> SqlBuilder {
    let mut b = SqlBuilder::new(
        "SELECT rs.* FROM review_seats rs \
         JOIN challenges c ON c.id = rs.challenge_id AND c.status = 'judging' \
         JOIN submissions s ON s.id = rs.submission_id AND s.status <> 'withdrawn' \
         WHERE rs.state = 'open' AND (rs.claimed_by IS NULL OR rs.lease_expires_at <= ",
    );
    let now_p = b.bind(at);
    b.push(&format!("{now_p})"));
    if let Some(c) = spec.challenge_id {
        let p = b.bind(c);
        b.push(&format!(" AND rs.challenge_id = {p}"));
    }
    if let Some(t) = spec.track {
        let p = b.bind(t);
        b.push(&format!(" AND rs.track = {p}"));
    }
    let me_p = b.bind(me);
    b.push(&conflicts::excluded(&me_p, &now_p));
    b.push(" ORDER BY rs.submitted_at, rs.submission_id, rs.seat LIMIT 1");
    b.push(for_update(db, " FOR UPDATE OF rs SKIP LOCKED"));
    b
}

/// `me` takes `seat` until `until`; a lapsed claim on it is announced as
/// expired first. Guarded on the claim it replaces.
async fn take(
    tx: &DatabaseTransaction,
    seat: &SeatRow,
    me: Uuid,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<SeatRow> {
    if seat.claimed_by.is_some() {
        lapse(tx, seat).await?;
    }
    let id = new_id();
    let mut values: Vec<sea_orm::Value> = vec![
        id.into(),
        me.into(),
        at.into(),
        until.into(),
        seat.submission_id.into(),
        seat.seat.into(),
    ];
    let guard = match seat.claim_id {
        Some(old) => {
            values.push(old.into());
            "claim_id = $7"
        }
        None => "claim_id IS NULL",
    };
    let taken = db::execute(
        tx,
        &format!(
            "UPDATE review_seats SET claim_id = $1, claimed_by = $2, claimed_at = $3, lease_expires_at = $4, \
             updated_at = $3 WHERE submission_id = $5 AND seat = $6 AND state = 'open' AND {guard}"
        ),
        values,
    )
    .await?;
    if taken == 0 {
        return Err(DomainError::SeatClaimed);
    }
    let row = seat_by_claim(tx, id).await?;
    let claim = row
        .claim()
        .ok_or_else(|| DomainError::bug("a seat just claimed has no claim"))?;
    events::record(tx, row.submission_id, Event::ReviewClaimed(claim)).await?;
    Ok(row)
}

/// A claim whose lease ran out ends (the seat keeps its id, so its holder
/// is told `claim_expired`), announced once: guarded on it still being held.
pub(super) async fn lapse<C: ConnectionTrait>(db: &C, seat: &SeatRow) -> Result<bool> {
    let (Some(claim), Some(id)) = (seat.claim(), seat.claim_id) else {
        return Ok(false);
    };
    let lapsed = db::execute(
        db,
        "UPDATE review_seats SET claimed_by = NULL, updated_at = $1 \
         WHERE submission_id = $2 AND seat = $3 AND claim_id = $4 AND claimed_by IS NOT NULL",
        [
            now().into(),
            seat.submission_id.into(),
            seat.seat.into(),
            id.into(),
        ],
    )
    .await?;
    if lapsed == 1 {
        events::record(db, seat.submission_id, Event::ReviewLeaseExpired(claim)).await?;
    }
    Ok(lapsed == 1)
}

/// What a claim answers: the claim and the submission, blind.
async fn work(tx: &DatabaseTransaction, caller: &Caller, seat: &SeatRow) -> Result<ClaimedWork> {
    let claim = seat
        .claim()
        .ok_or_else(|| DomainError::bug("a claimed seat without its claim"))?;
    let s = find_submission(tx, seat.submission_id).await?;
    let status = status_of(tx, s.challenge_id).await?;
    let alias = blind::authors(tx, Some(caller), s.challenge_id, status, s.talent_id)
        .await?
        .alias(s.talent_id);
    Ok(ClaimedWork {
        claim,
        submission: s.view(true, alias)?,
    })
}

async fn seat_by_claim<C: ConnectionTrait>(db: &C, claim: Uuid) -> Result<SeatRow> {
    let lock = for_update(db, " FOR UPDATE");
    db::fetch_one(
        db,
        &format!("SELECT * FROM review_seats WHERE claim_id = $1{lock}"),
        [claim.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("claim"))
}

/// The live claim `id`, locked, after `rule` allowed the caller: 404 when
/// no seat carries it (filled, or claimed anew), 409 `claim_expired` when
/// its lease ran out.
async fn live_claim(
    tx: &DatabaseTransaction,
    caller: &Caller,
    id: Uuid,
    rule: fn(&Caller, Uuid) -> Result<()>,
) -> Result<(SeatRow, Claim)> {
    let at = now();
    let seat = seat_by_claim(tx, id).await?;
    let claim = seat.claim().ok_or(DomainError::ClaimExpired)?;
    rule(caller, claim.reviewer_id)?;
    if claim.lease_expires_at <= at {
        lapse(tx, &seat).await?;
        return Err(DomainError::ClaimExpired);
    }
    Ok((seat, claim))
}

/// The holder extends their claim: its lease runs `lease` from now.
pub async fn extend(
    db: &DatabaseConnection,
    allowed: &Allowed<ReviewSubmissions>,
    id: Uuid,
    lease: Duration,
) -> Result<Claim> {
    let tx = db::begin_write(db).await?;
    let (seat, claim) =
        match live_claim(&tx, allowed.caller(), id, policy::may_extend_claim_of).await {
            Ok(live) => live,
            // An expiry found here is announced: committed before refusing.
            Err(DomainError::ClaimExpired) => {
                tx.commit().await?;
                return Err(DomainError::ClaimExpired);
            }
            Err(e) => return Err(e),
        };
    let until = now() + lease;
    db::execute(
        &tx,
        "UPDATE review_seats SET lease_expires_at = $1, updated_at = $2 WHERE submission_id = $3 AND seat = $4",
        [
            until.into(),
            now().into(),
            seat.submission_id.into(),
            seat.seat.into(),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(Claim {
        lease_expires_at: until,
        ..claim
    })
}

/// The holder (or an admin) gives the seat back to the queue.
pub async fn release(
    db: &DatabaseConnection,
    allowed: &Allowed<ReviewSubmissions>,
    id: Uuid,
) -> Result<Claim> {
    let caller = allowed.caller();
    let tx = db::begin_write(db).await?;
    let (seat, claim) = match live_claim(&tx, caller, id, policy::may_release_claim_of).await {
        Ok(live) => live,
        Err(DomainError::ClaimExpired) => {
            tx.commit().await?;
            return Err(DomainError::ClaimExpired);
        }
        Err(e) => return Err(e),
    };
    db::execute(
        &tx,
        "UPDATE review_seats SET claim_id = NULL, claimed_by = NULL, claimed_at = NULL, \
         lease_expires_at = NULL, updated_at = $1 WHERE submission_id = $2 AND seat = $3",
        [now().into(), seat.submission_id.into(), seat.seat.into()],
    )
    .await?;
    let released = ClaimReleased {
        claim: claim.clone(),
        released_by: caller.user_id(),
    };
    events::record(&tx, seat.submission_id, Event::ReviewReleased(released)).await?;
    tx.commit().await?;
    Ok(claim)
}

/// The job: claims whose lease ran out go back to the queue, at most
/// `limit` a run, each announced once (`review.lease_expired`) however
/// many instances run it.
pub async fn expire_leases(db: &DatabaseConnection, limit: u64) -> Result<u64> {
    let tx = db::begin_write(db).await?;
    let skip = for_update(&tx, " FOR UPDATE SKIP LOCKED");
    let lapsed: Vec<SeatRow> = db::fetch_all(
        &tx,
        &format!(
            "SELECT * FROM review_seats WHERE claimed_by IS NOT NULL AND lease_expires_at <= $1 \
             ORDER BY lease_expires_at LIMIT {limit}{skip}"
        ),
        [now().into()],
    )
    .await?;
    let mut n = 0;
    for seat in &lapsed {
        if lapse(&tx, seat).await? {
            n += 1;
        }
    }
    tx.commit().await?;
    Ok(n)
}

#[derive(FromQueryResult)]
struct LineRow {
    challenge_id: Uuid,
    title: String,
    track: Option<Track>,
    waiting: i64,
    claimed: i64,
    oldest_submitted_at: Option<DateTime<Utc>>,
}

/// One challenge's line of the queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueLine {
    pub challenge_id: Uuid,
    pub title: String,
    #[schema(required = true)]
    pub track: Option<Track>,
    /// Open seats nobody holds: the reviews waiting to be claimed.
    pub waiting: i64,
    /// Open seats under a live claim.
    pub claimed: i64,
    /// When the oldest waiting submission was submitted.
    #[schema(required = true)]
    pub oldest_submitted_at: Option<DateTime<Utc>>,
    /// How long it has waited, in seconds.
    #[schema(required = true)]
    pub oldest_age_seconds: Option<i64>,
}

/// Which lines of the queue to show.
#[derive(Debug, Default)]
pub struct QueueFilter {
    pub challenge: Option<Uuid>,
    pub track: Option<Track>,
}

/// The queue per challenge (with its track), in challenge order: how many
/// reviews wait, how many are claimed, and the age of the oldest waiting.
pub async fn queue(
    db: &DatabaseConnection,
    _allowed: &Allowed<ReviewSubmissions>,
    f: &QueueFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<QueueLine>> {
    let after: Option<Uuid> = page::decode(cursor)?;
    let at = now();
    let mut b = SqlBuilder::new("SELECT rs.challenge_id, c.title, c.track, ");
    let p = b.bind(at);
    let live = format!("rs.claimed_by IS NOT NULL AND rs.lease_expires_at > {p}");
    b.push(&format!(
        "CAST(SUM(CASE WHEN {live} THEN 0 ELSE 1 END) AS BIGINT) AS waiting, \
         CAST(SUM(CASE WHEN {live} THEN 1 ELSE 0 END) AS BIGINT) AS claimed, \
         MIN(CASE WHEN {live} THEN NULL ELSE rs.submitted_at END) AS oldest_submitted_at \
         FROM review_seats rs JOIN challenges c ON c.id = rs.challenge_id \
         WHERE rs.state = 'open' AND c.status = 'judging'"
    ));
    if let Some(c) = f.challenge {
        let p = b.bind(c);
        b.push(&format!(" AND rs.challenge_id = {p}"));
    }
    if let Some(t) = f.track {
        let p = b.bind(t);
        b.push(&format!(" AND rs.track = {p}"));
    }
    if let Some(a) = after {
        let p = b.bind(a);
        b.push(&format!(" AND rs.challenge_id > {p}"));
    }
    b.push(&format!(
        " GROUP BY rs.challenge_id, c.title, c.track ORDER BY rs.challenge_id LIMIT {}",
        limit.get() + 1
    ));
    let rows: Vec<LineRow> = db::fetch_all(db, &b.sql, b.values).await?;
    let rows = rows.into_iter().map(|r| QueueLine {
        challenge_id: r.challenge_id,
        title: r.title,
        track: r.track,
        waiting: r.waiting,
        claimed: r.claimed,
        oldest_submitted_at: r.oldest_submitted_at,
        oldest_age_seconds: r.oldest_submitted_at.map(|o| (at - o).num_seconds()),
    });
    let rows: Vec<QueueLine> = rows.collect();
    Ok(Page::from_rows(rows, limit.get(), |l: &QueueLine| {
        l.challenge_id.to_string()
    }))
}

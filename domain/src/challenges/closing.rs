//! Closing a challenge: judging ends when judging is done and no appeal
//! is open or may still be filed, and the prizes are paid to the top
//! places among active talents, once each.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, FromQueryResult};

use super::{Challenge, standings};
use crate::caller::Actor;
use crate::db;
use crate::error::{DomainError, Result};
use crate::events::PrizePaid;
use crate::types::Amount;
use crate::{ledger, now};

#[derive(FromQueryResult)]
struct Pending {
    n: i64,
}

/// Judging ends when judging is done: every submitted entry of an active
/// talent has a decision, or the review deadline has passed (entries of
/// suspended or erased talents cannot be accepted, so they do not hold it
/// up). Otherwise 409 `reviews_pending` with the count.
pub(super) async fn judging_done(db: &DatabaseTransaction, c: &Challenge) -> Result<()> {
    if c.review_due_at <= now() {
        return Ok(());
    }
    let pending: Option<Pending> = db::fetch_one(
        db,
        "SELECT COUNT(*) AS n FROM submissions s JOIN users u ON u.id = s.talent_id \
         WHERE s.challenge_id = $1 AND s.status = 'submitted' AND u.status = 'active'",
        [c.id.into()],
    )
    .await?;
    match pending.map_or(0, |p| p.n) {
        0 => Ok(()),
        n => Err(DomainError::ReviewsPending(n)),
    }
}

/// Pays the prizes of a closing challenge to the top places of its
/// leaderboard (higher score, then earlier submission) among active
/// talents (a suspended or erased talent earns no prize), each once
/// (`prize:<challenge>:<place>`). Returns what was paid, for the event.
pub(super) async fn pay_prizes(
    db: &DatabaseTransaction,
    c: &Challenge,
    actor: Actor,
) -> Result<Vec<PrizePaid>> {
    let places = standings::prize_places(db, c.id, c.prizes.len() as u64).await?;
    let mut paid = Vec::new();
    for (place, (entry, amount)) in (1u32..).zip(places.iter().zip(&c.prizes)) {
        let amount = Amount::parse("prize", *amount)
            .map_err(|_| DomainError::bug("a stored prize is not an amount"))?;
        let memo = format!("Prize for place {place} in \"{}\"", c.title);
        let t = ledger::reward(
            db,
            entry.talent_id,
            format!("prize:{}:{place}", c.id),
            amount,
            &memo,
            actor,
        )
        .await?;
        paid.push(PrizePaid {
            place,
            talent_id: entry.talent_id,
            submission_id: entry.submission_id,
            amount,
            transaction_id: t.id,
        });
    }
    Ok(paid)
}

#[derive(FromQueryResult)]
struct Latest {
    at: DateTime<Utc>,
}

/// A challenge closes only when no appeal of it is open and no decided
/// submission's appeal window runs (409 `appeals_pending`). Locks the
/// challenge's row first, so a filing waits for the close or the close
/// sees the filing.
pub(super) async fn appeals_settled(tx: &DatabaseTransaction, c: &Challenge) -> Result<()> {
    if tx.get_database_backend() == DbBackend::Postgres {
        db::execute(
            tx,
            "SELECT id FROM challenges WHERE id = $1 FOR UPDATE",
            [c.id.into()],
        )
        .await?;
    }
    let open: Option<Pending> = db::fetch_one(
        tx,
        "SELECT COUNT(*) AS n FROM appeals WHERE challenge_id = $1 AND status = 'open'",
        [c.id.into()],
    )
    .await?;
    let n = open.map_or(0, |o| o.n);
    if n > 0 {
        return Err(DomainError::AppealsPending(format!(
            "{n} appeals are open; answer them before closing"
        )));
    }
    if c.appeal_window_hours == 0 {
        return Ok(());
    }
    let latest: Option<Latest> = db::fetch_one(
        tx,
        "SELECT r.created_at AS at FROM submissions s JOIN reviews r ON r.id = s.review_id \
         WHERE s.challenge_id = $1 AND s.status IN ('accepted', 'rejected') \
         ORDER BY r.created_at DESC LIMIT 1",
        [c.id.into()],
    )
    .await?;
    if let Some(at) = latest.map(|l| l.at) {
        let until = at + TimeDelta::hours(c.appeal_window_hours.into());
        if until > now() {
            return Err(DomainError::AppealsPending(format!(
                "an appeal window runs until {}; the challenge closes after it",
                until.to_rfc3339()
            )));
        }
    }
    Ok(())
}

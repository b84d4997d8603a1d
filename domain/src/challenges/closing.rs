//! Closing a challenge: judging ends when judging is done, and the prizes
//! are paid to the top places among active talents, once each.

use sea_orm::{DatabaseTransaction, FromQueryResult};

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

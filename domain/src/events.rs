//! The events outbox: one row per review decision, overturn, challenge
//! transition, profile change and tier change, written in the same
//! transaction as what it reports. `record` also lets the code that cares
//! react in that transaction (tiers re-evaluate on review decisions and
//! profile changes; pods free the slot of a talent demoted out of Tier 5), so the announcing code never calls it and a crash
//! loses neither the event nor its consequence.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::db;
use crate::error::Result;
use crate::{new_id, now, pods, tiers};

/// Records an event of `kind` about `subject` (e.g. `challenge`, its id) and
/// runs the reactions to it, in `db`'s transaction.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    subject_type: &str,
    subject_id: Uuid,
    payload: serde_json::Value,
) -> Result<()> {
    append(db, kind, subject_type, subject_id, payload.clone()).await?;
    tiers::react(db, kind, subject_id, &payload).await?;
    pods::react(db, kind, subject_id, &payload).await
}

/// Records an event without reactions (for the reacting code's own events).
pub async fn append<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    subject_type: &str,
    subject_id: Uuid,
    payload: serde_json::Value,
) -> Result<()> {
    db::execute(
        db,
        "INSERT INTO events (id, type, subject_type, subject_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            new_id().into(),
            kind.into(),
            subject_type.into(),
            subject_id.into(),
            payload.into(),
            now().into(),
        ],
    )
    .await?;
    Ok(())
}

//! The events outbox: one row per review decision, overturn and challenge
//! transition, written in the same transaction as what it reports, so tier
//! progression and webhooks later read one durable stream.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::db;
use crate::error::Result;
use crate::{new_id, now};

/// Records an event of `kind` about `subject` (e.g. `challenge`, its id).
pub async fn record<C: ConnectionTrait>(
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

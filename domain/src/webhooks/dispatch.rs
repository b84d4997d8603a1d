//! The dispatcher: from its cursor (`webhook_dispatch.position`) forward
//! through the events' one order, it turns each event into a message for
//! the enabled endpoints that want its kind and a delivery per endpoint,
//! and moves the cursor, all in one transaction. One dispatcher works at a
//! time: on PostgreSQL whoever holds the cursor row's lock (the others skip
//! it, `SKIP LOCKED`); SQLite serialises writers. Going by position, it
//! never passes an event whose transaction committed late.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult};
use uuid::Uuid;

use super::endpoints::stored_kinds;
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::events::{self, EventKind, Positioned};
use crate::{new_id, now};

/// Rows per multi-row insert (well under SQLite's bound-value limit).
const ROWS_PER_INSERT: usize = 200;

/// What one dispatch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dispatched {
    /// Events passed (whether or not an endpoint wanted them).
    pub events: u64,
    /// Deliveries written.
    pub deliveries: u64,
}

#[derive(FromQueryResult)]
struct Cursor {
    position: i64,
}

#[derive(FromQueryResult)]
struct Filter {
    id: Uuid,
    event_types: serde_json::Value,
}

/// A message about to be written.
pub(super) struct NewMessage {
    pub id: Uuid,
    pub position: Option<i64>,
    pub event_type: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl NewMessage {
    /// The message of a positioned event: its thin outward form.
    pub fn of(e: &Positioned) -> Result<Self> {
        let body = serde_json::to_string(&events::public(&e.stored))
            .map_err(|err| DomainError::Internal(anyhow::anyhow!("an unsendable event: {err}")))?;
        Ok(Self {
            id: e.stored.id,
            position: Some(e.position),
            event_type: e.stored.event.kind().as_str().to_owned(),
            body,
            created_at: e.stored.created_at,
        })
    }
}

/// Dispatches up to `batch` events after the cursor.
pub async fn dispatch(db: &DatabaseConnection, batch: u64) -> Result<Dispatched> {
    let tx = db::begin_write(db).await?;
    let lock = if tx.get_database_backend() == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let cursor: Option<Cursor> = db::fetch_one(
        &tx,
        &format!("SELECT position FROM webhook_dispatch WHERE id = 1{lock}"),
        [],
    )
    .await?;
    // Another instance is dispatching.
    let Some(cursor) = cursor else {
        return Ok(Dispatched::default());
    };
    let passed = events::after(&tx, cursor.position, &[], batch).await?;
    let Some(last) = passed.last().map(|e| e.position) else {
        return Ok(Dispatched::default());
    };
    let filters = enabled_filters(&tx).await?;
    let mut messages = Vec::new();
    let mut deliveries = Vec::new();
    for e in &passed {
        let kind = e.stored.event.kind();
        let to: Vec<Uuid> = filters
            .iter()
            .filter(|(_, kinds)| kinds.is_empty() || kinds.contains(&kind))
            .map(|(id, _)| *id)
            .collect();
        if to.is_empty() {
            continue;
        }
        messages.push(NewMessage::of(e)?);
        deliveries.extend(to.into_iter().map(|endpoint| (e.stored.id, endpoint)));
    }
    insert_messages(&tx, &messages).await?;
    let written = insert_deliveries(&tx, &deliveries, now(), false).await?;
    db::execute(
        &tx,
        "UPDATE webhook_dispatch SET position = $1 WHERE id = 1",
        [last.into()],
    )
    .await?;
    tx.commit().await?;
    Ok(Dispatched {
        events: passed.len() as u64,
        deliveries: written,
    })
}

async fn enabled_filters<C: ConnectionTrait>(db: &C) -> Result<Vec<(Uuid, Vec<EventKind>)>> {
    let rows: Vec<Filter> = db::fetch_all(
        db,
        "SELECT id, event_types FROM webhook_endpoints WHERE disabled = FALSE ORDER BY id",
        [],
    )
    .await?;
    rows.into_iter()
        .map(|f| Ok((f.id, stored_kinds(&f.event_types)?)))
        .collect()
}

/// Writes messages; one already written (same id) is kept as it is.
pub(super) async fn insert_messages<C: ConnectionTrait>(db: &C, rows: &[NewMessage]) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut b = SqlBuilder::new(
            "INSERT INTO webhook_messages (id, position, event_type, body, created_at) VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            let v = [
                b.bind(m.id),
                b.bind(m.position),
                b.bind(m.event_type.clone()),
                b.bind(m.body.clone()),
                b.bind(m.created_at),
            ];
            b.push(&format!(
                "{}({})",
                if i > 0 { ", " } else { "" },
                v.join(", ")
            ));
        }
        b.push(" ON CONFLICT (id) DO NOTHING");
        db::execute(db, &b.sql, b.values).await?;
    }
    Ok(())
}

/// Writes a pending delivery, due at `at`, per (message, endpoint); a pair
/// that has one already keeps it, unless `requeue` and it failed: then it
/// is pending again with a fresh schedule. Returns how many were written.
pub(super) async fn insert_deliveries<C: ConnectionTrait>(
    db: &C,
    pairs: &[(Uuid, Uuid)],
    at: DateTime<Utc>,
    requeue: bool,
) -> Result<u64> {
    let mut written = 0;
    for chunk in pairs.chunks(ROWS_PER_INSERT) {
        let mut b = SqlBuilder::new(
            "INSERT INTO webhook_deliveries (id, message_id, endpoint_id, status, attempts, \
             next_attempt_at, created_at) VALUES ",
        );
        let t = b.bind(at);
        for (i, (message, endpoint)) in chunk.iter().enumerate() {
            let v = [b.bind(new_id()), b.bind(*message), b.bind(*endpoint)];
            b.push(&format!(
                "{}({}, 'pending', 0, {t}, {t})",
                if i > 0 { ", " } else { "" },
                v.join(", ")
            ));
        }
        b.push(if requeue {
            " ON CONFLICT (message_id, endpoint_id) DO UPDATE SET status = 'pending', \
             attempts = 0, next_attempt_at = excluded.next_attempt_at, leased_until = NULL, \
             lease_id = NULL, last_error = NULL WHERE webhook_deliveries.status = 'failed'"
        } else {
            " ON CONFLICT (message_id, endpoint_id) DO NOTHING"
        });
        written += db::execute(db, &b.sql, b.values).await?;
    }
    Ok(written)
}

/// Forgets up to `limit` messages written before `before` that no delivery
/// still waits to send (their deliveries and attempts go with them, by
/// the foreign keys' cascade); returns how many.
pub async fn prune(db: &DatabaseConnection, before: DateTime<Utc>, limit: u64) -> Result<u64> {
    let n = db::execute(
        db,
        &format!(
            "DELETE FROM webhook_messages WHERE id IN (SELECT m.id FROM webhook_messages m \
             WHERE m.created_at < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
             WHERE d.message_id = m.id AND d.status = 'pending') ORDER BY m.created_at LIMIT {limit})"
        ),
        [before.into()],
    )
    .await?;
    Ok(n)
}

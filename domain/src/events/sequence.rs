//! The events' one total order. An event's row is written in its cause's
//! transaction, and transactions commit in an order their ids and clocks do
//! not show: a reader going forward by id or time could pass an event
//! whose transaction commits a moment later. So a row gets its `position`
//! only after it has committed, from the sequencer ([`sequence`], run by
//! every instance's sequencer loop; one at a time on PostgreSQL under a
//! transaction-scoped advisory lock, SQLite serialises writers): each run
//! numbers the committed rows still without a place after the highest
//! place given, oldest first. A reader that has seen every position up to
//! `p` has seen every event positioned so far; [`after`] reads on from a
//! position, [`head`] is the highest given.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::{EventKind, Row, StoredEvent, decode};
use crate::db::{self, SqlBuilder};
use crate::error::Result;

/// The advisory lock key of the sequencer (PostgreSQL): "kartel-events".
const LOCK: i64 = 0x6b61_7274_6576_0001;

/// Gives at most `batch` committed events without a position the next
/// positions, oldest first; returns how many it placed (0 also when
/// another instance is sequencing right now).
pub async fn sequence(db: &DatabaseConnection, batch: u64) -> Result<u64> {
    let tx = db::begin_write(db).await?;
    if tx.get_database_backend() == DbBackend::Postgres {
        #[derive(FromQueryResult)]
        struct Locked {
            locked: bool,
        }
        let got: Option<Locked> = db::fetch_one(
            &tx,
            "SELECT pg_try_advisory_xact_lock($1) AS locked",
            [LOCK.into()],
        )
        .await?;
        if !got.is_some_and(|g| g.locked) {
            return Ok(0);
        }
    }
    let placed = db::execute(
        &tx,
        "UPDATE events SET position = numbered.n FROM ( \
           SELECT waiting.id, \
                  (SELECT COALESCE(MAX(position), 0) FROM events) \
                  + ROW_NUMBER() OVER (ORDER BY waiting.created_at, waiting.id) AS n \
           FROM (SELECT id, created_at FROM events WHERE position IS NULL \
                 ORDER BY created_at, id LIMIT $1) AS waiting \
         ) AS numbered WHERE events.id = numbered.id",
        [(batch as i64).into()],
    )
    .await?;
    tx.commit().await?;
    Ok(placed)
}

#[derive(FromQueryResult)]
struct Head {
    head: Option<i64>,
}

/// The highest position given so far (0 before the first).
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<i64> {
    let h: Option<Head> = db::fetch_one(db, "SELECT MAX(position) AS head FROM events", []).await?;
    Ok(h.and_then(|h| h.head).unwrap_or(0))
}

/// An event and its place in the total order.
#[derive(Debug, Clone, Serialize)]
pub struct Positioned {
    pub position: i64,
    #[serde(flatten)]
    pub stored: StoredEvent,
}

#[derive(FromQueryResult)]
struct PositionedRow {
    position: i64,
    id: Uuid,
    kind: String,
    subject_type: String,
    subject_id: Uuid,
    payload: serde_json::Value,
    created_at: DateTime<Utc>,
}

/// Up to `limit` positioned events after position `after`, in order; of
/// the given kinds only, when `kinds` is not empty. An event that does not
/// decode is an error (logged and counted), not skipped.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    after: i64,
    kinds: &[EventKind],
    limit: u64,
) -> Result<Vec<Positioned>> {
    let mut b = SqlBuilder::new(
        "SELECT position, id, type AS kind, subject_type, subject_id, payload, created_at \
         FROM events WHERE position > ",
    );
    let p = b.bind(after);
    b.push(&p);
    if !kinds.is_empty() {
        let names: Vec<String> = kinds.iter().map(|k| b.bind(k.as_str())).collect();
        b.push(&format!(" AND type IN ({})", names.join(", ")));
    }
    b.push(&format!(" ORDER BY position LIMIT {limit}"));
    let rows: Vec<PositionedRow> = db::fetch_all(db, &b.sql, b.values).await?;
    rows.into_iter()
        .map(|r| {
            let stored = decode(Row {
                id: r.id,
                kind: r.kind,
                subject_type: r.subject_type,
                subject_id: r.subject_id,
                payload: r.payload,
                created_at: r.created_at,
            })?;
            Ok(Positioned {
                position: r.position,
                stored,
            })
        })
        .collect()
}

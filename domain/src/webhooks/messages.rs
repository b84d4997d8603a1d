//! What admins ask of messages: a test message to one endpoint, a resend of
//! a message to its endpoints, a recovery of what an endpoint missed since
//! a time (from the events themselves, so also what it missed while it was
//! disabled), and the attempts made at an endpoint with their answers.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dispatch::{NewMessage, insert_deliveries, insert_messages};
use super::endpoints::{find, stored_kinds};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, FieldError, Result};
use crate::events;
use crate::page::{self, Page};
use crate::policy::{Allowed, ManageWebhooks};
use crate::types::Limit;
use crate::{audit, new_id, now};

/// The type of a test message (not an event kind).
pub const TEST_TYPE: &str = "webhook.test";
/// How far back a recovery may reach.
pub const RECOVER_MAX_DAYS: i64 = 14;
/// Events read per recovery transaction.
const RECOVER_BATCH: u64 = 500;

/// The data of a `webhook.test` message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestData {
    /// The endpoint the test was sent to.
    pub endpoint_id: Uuid,
}

/// A test message, queued.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestSent {
    /// Its `webhook-id`.
    pub message_id: Uuid,
}

/// Deliveries queued by a resend or a recovery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Queued {
    pub queued: u64,
}

/// One attempt at delivering a message to an endpoint.
#[derive(Debug, Clone, Serialize, ToSchema, FromQueryResult)]
pub struct Attempt {
    pub id: Uuid,
    pub delivery_id: Uuid,
    /// The message (`webhook-id`: the event's id).
    pub message_id: Uuid,
    /// The message's type.
    pub event_type: String,
    pub attempted_at: DateTime<Utc>,
    /// The answer's HTTP status; null when none came.
    #[schema(required = true)]
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The answer's first 4 KiB.
    pub response: String,
    /// What went wrong (a refused address, a timeout…).
    #[schema(required = true)]
    pub error: Option<String>,
    pub succeeded: bool,
}

async fn audit_of(
    tx: &sea_orm::DatabaseTransaction,
    allowed: &Allowed<ManageWebhooks>,
    action: &str,
    target: (&str, Uuid),
    after: serde_json::Value,
) -> Result<()> {
    audit::record(
        tx,
        allowed.caller().actor(),
        action,
        target.0,
        Some(target.1.to_string()),
        None,
        Some(after),
    )
    .await
}

/// Queues a `webhook.test` message to an enabled endpoint.
pub async fn send_test(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageWebhooks>,
    endpoint: Uuid,
) -> Result<TestSent> {
    let tx = db::begin_write(db).await?;
    if find(&tx, endpoint).await?.disabled {
        return Err(DomainError::EndpointDisabled);
    }
    let (id, t) = (new_id(), now());
    let body = serde_json::json!({
        "type": TEST_TYPE,
        "timestamp": t,
        "data": TestData { endpoint_id: endpoint },
    });
    let message = NewMessage {
        id,
        position: None,
        event_type: TEST_TYPE.to_owned(),
        body: body.to_string(),
        created_at: t,
    };
    insert_messages(&tx, &[message]).await?;
    insert_deliveries(&tx, &[(id, endpoint)], t, false).await?;
    let sent = TestSent { message_id: id };
    audit_of(
        &tx,
        allowed,
        "webhook_endpoint.test",
        ("webhook_endpoint", endpoint),
        audit::json(&sent),
    )
    .await?;
    tx.commit().await?;
    Ok(sent)
}

/// Queues a message again to each enabled endpoint it was for (those
/// whose delivery is not in a worker's hands right now), with a fresh
/// retry schedule.
pub async fn resend(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageWebhooks>,
    message: Uuid,
) -> Result<Queued> {
    let t = now();
    let tx = db::begin_write(db).await?;
    if !db::exists(
        &tx,
        "SELECT 1 FROM webhook_messages WHERE id = $1",
        [message.into()],
    )
    .await?
    {
        return Err(DomainError::NotFound("webhook message"));
    }
    let queued = db::execute(
        &tx,
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, \
         leased_until = NULL, lease_id = NULL, last_error = NULL \
         WHERE message_id = $2 AND (leased_until IS NULL OR leased_until < $1) \
         AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled = FALSE)",
        [t.into(), message.into()],
    )
    .await?;
    let q = Queued { queued };
    audit_of(
        &tx,
        allowed,
        "webhook_message.resend",
        ("webhook_message", message),
        audit::json(&q),
    )
    .await?;
    tx.commit().await?;
    Ok(q)
}

#[derive(FromQueryResult)]
struct Position {
    position: Option<i64>,
}

/// Queues to an enabled endpoint every event of its kinds since `since`
/// that it has not received: never delivered to it, failed, or missed
/// while it was disabled. Goes as far as the dispatcher has (later events
/// reach it the usual way); one transaction per batch of events.
pub async fn recover(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageWebhooks>,
    endpoint: Uuid,
    since: DateTime<Utc>,
) -> Result<Queued> {
    let t = now();
    if since < t - Duration::days(RECOVER_MAX_DAYS) || since > t {
        return Err(DomainError::Validation(vec![FieldError::new(
            "since",
            format!("must be within the last {RECOVER_MAX_DAYS} days"),
        )]));
    }
    let e = find(db, endpoint).await?;
    if e.disabled {
        return Err(DomainError::EndpointDisabled);
    }
    let kinds = stored_kinds(&e.event_types)?;
    let upto: Option<Position> =
        db::fetch_one(db, "SELECT position FROM webhook_dispatch WHERE id = 1", []).await?;
    let upto = upto.and_then(|p| p.position).unwrap_or(0);
    let start: Option<Position> = db::fetch_one(
        db,
        "SELECT MIN(position) AS position FROM events \
         WHERE created_at >= $1 AND position IS NOT NULL",
        [since.into()],
    )
    .await?;
    let mut cursor = match start.and_then(|p| p.position) {
        Some(p) => p - 1,
        None => upto,
    };
    let mut queued = 0;
    while cursor < upto {
        let tx = db::begin_write(db).await?;
        let batch = events::after(&tx, cursor, &kinds, RECOVER_BATCH).await?;
        let batch: Vec<_> = batch.into_iter().filter(|e| e.position <= upto).collect();
        let Some(last) = batch.last().map(|e| e.position) else {
            break;
        };
        let messages = batch
            .iter()
            .map(NewMessage::of)
            .collect::<Result<Vec<_>>>()?;
        insert_messages(&tx, &messages).await?;
        let pairs: Vec<(Uuid, Uuid)> = messages.iter().map(|m| (m.id, endpoint)).collect();
        queued += insert_deliveries(&tx, &pairs, t, true).await?;
        tx.commit().await?;
        cursor = last;
    }
    let q = Queued { queued };
    let tx = db::begin_write(db).await?;
    audit_of(
        &tx,
        allowed,
        "webhook_endpoint.recover",
        ("webhook_endpoint", endpoint),
        serde_json::json!({ "since": since, "queued": queued }),
    )
    .await?;
    tx.commit().await?;
    Ok(q)
}

/// The attempts at an endpoint, newest first.
pub async fn attempts(
    db: &DatabaseConnection,
    _allowed: &Allowed<ManageWebhooks>,
    endpoint: Uuid,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Attempt>> {
    find(db, endpoint).await?;
    let before: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new(
        "SELECT a.id, a.delivery_id, a.message_id, m.event_type, a.attempted_at, a.status_code, \
         a.latency_ms, a.response, a.error, a.succeeded FROM webhook_attempts a \
         JOIN webhook_messages m ON m.id = a.message_id WHERE a.endpoint_id = ",
    );
    let p = b.bind(endpoint);
    b.push(&p);
    if let Some(c) = before {
        let p = b.bind(c);
        b.push(&format!(" AND a.id < {p}"));
    }
    b.push(&format!(" ORDER BY a.id DESC LIMIT {}", limit.get() + 1));
    let rows: Vec<Attempt> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(Page::from_rows(rows, limit.get(), |a| a.id.to_string()))
}

//! The events outbox: one row per review decision, overturn, challenge
//! move, profile change, account status change, tier change and placement,
//! written in the same transaction as what it reports.
//!
//! [`record`] is the one way to write an event: it writes the row and runs
//! the reactions to it (tiers re-evaluate on review decisions and profile
//! changes; pods free the slot of a talent demoted out of Tier 5 and
//! withdraw nominations), so the announcing code never calls a reaction
//! itself and a crash loses neither the event nor its consequence. A staff
//! action that also writes the audit log does both through
//! [`record_staff_action`], from the one typed value.
//!
//! This module is the hub the aggregates announce through and the place
//! that calls their reactions, so `events`, `tiers` and `pods` import each
//! other on purpose (the one exception the circle check names).

mod audience;
mod feed;
mod kinds;
mod public;
mod schema;
mod sequence;

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

pub use kinds::{
    CertificateIssued, CertificateRevoked, ChallengeMoved, ClaimReleased, Clock, CreditsMoved,
    Event, EventKind, HandoffAccepted, MovedBy, PodAssigned, PodUnassigned, PrizePaid,
    ProfileUpdated, ReviewDecided, RevocationCause, StatusChanged, StoredEvent, TierDemoted,
    UserErased,
};

pub use crate::enums::Topic;
pub use audience::{Audience, audience, stops_access};
pub use feed::{EventType, Feed, FeedItem, catalogue, feed, parse_kinds};
pub use public::{
    AppealData, CertificateIssuedData, CertificateRevokedData, ChallengeMovedData, ClaimData,
    CreditsMovedData, HandoffAcceptedData, NominationData, OutcomeData, PodAssignedData,
    PodUnassignedData, PrizeData, ProfileData, PublicData, PublicEvent, ReviewRecordedData,
    ReviewsNeededData, SubmissionDecidedData, TiebreakNeededData, TierChangedData, TierDemotedData,
    UserData, UserStatusData, data_schema, public,
};
pub use schema::{data_json_schema, document as schema_document, public_components};
pub use sequence::{Positioned, after, head, sequence};

use crate::caller::Actor;
use crate::db;
use crate::error::{DomainError, Result};
use crate::{audit, new_id, now, pods, tiers};

/// Records `event` about `subject` (the id its kind's `subject_type`
/// names) and runs the reactions to it, in `db`'s transaction.
pub async fn record<C: ConnectionTrait>(db: &C, subject: Uuid, event: Event) -> Result<()> {
    write(db, subject, &event).await?;
    // Boxed: a reaction may record events of its own (the tier engine's
    // `tier.changed`), so this future contains itself.
    Box::pin(react(db, subject, &event)).await
}

/// Records a staff action's event and its audit row from the one value:
/// the action, target type and target id come from the event, so the two
/// cannot disagree. `before` and `after` are the audit row's views.
pub async fn record_staff_action<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    subject: Uuid,
    event: Event,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    let kind = event.kind();
    let action = kind
        .staff_action()
        .ok_or_else(|| DomainError::bug("an event no staff action announces"))?;
    record(db, subject, event).await?;
    audit::record(
        db,
        actor,
        action,
        kind.subject_type(),
        Some(subject.to_string()),
        before,
        after,
    )
    .await
}

async fn react<C: ConnectionTrait>(db: &C, subject: Uuid, event: &Event) -> Result<()> {
    tiers::react(db, subject, event).await?;
    pods::react(db, subject, event).await
}

async fn write<C: ConnectionTrait>(db: &C, subject: Uuid, event: &Event) -> Result<()> {
    let kind = event.kind();
    let payload = match serde_json::to_value(event) {
        Ok(serde_json::Value::Object(mut tagged)) => tagged
            .remove("payload")
            .ok_or_else(|| DomainError::bug("an event serialised without its payload"))?,
        _ => return Err(DomainError::bug("an event that does not serialise")),
    };
    db::execute(
        db,
        "INSERT INTO events (id, type, subject_type, subject_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            new_id().into(),
            kind.as_str().into(),
            kind.subject_type().into(),
            subject.into(),
            payload.into(),
            now().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A stored row, before decoding.
#[derive(Debug, FromQueryResult)]
struct Row {
    id: Uuid,
    /// `type`, renamed in the query (a keyword in Rust).
    kind: String,
    subject_type: String,
    subject_id: Uuid,
    payload: serde_json::Value,
    created_at: DateTime<Utc>,
}

static UNDECODABLE: AtomicU64 = AtomicU64::new(0);

/// How many stored events failed to decode since the process started (an
/// unknown kind, or a payload that does not fit its kind): each is logged
/// and is an error to whoever read it, never skipped.
pub fn undecodable_total() -> u64 {
    UNDECODABLE.load(Ordering::Relaxed)
}

fn decode(row: Row) -> Result<StoredEvent> {
    let tagged = serde_json::json!({ "type": row.kind, "payload": row.payload });
    match serde_json::from_value::<Event>(tagged) {
        Ok(event) => Ok(StoredEvent {
            id: row.id,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            event,
            created_at: row.created_at,
        }),
        Err(e) => {
            UNDECODABLE.fetch_add(1, Ordering::Relaxed);
            tracing::error!(event_id = %row.id, kind = %row.kind, error = %e, "a stored event does not decode");
            Err(DomainError::Internal(anyhow::anyhow!(
                "event {} of kind {:?} does not decode: {e}",
                row.id,
                row.kind
            )))
        }
    }
}

/// The stored events about `subject`, oldest first, decoded. An event that
/// does not decode is an error (logged and counted), not skipped.
pub async fn about<C: ConnectionTrait>(db: &C, subject: Uuid) -> Result<Vec<StoredEvent>> {
    let rows: Vec<Row> = db::fetch_all(
        db,
        "SELECT id, type AS kind, subject_type, subject_id, payload, created_at FROM events \
         WHERE subject_id = $1 ORDER BY created_at, id",
        [subject.into()],
    )
    .await?;
    rows.into_iter().map(decode).collect()
}

/// Writes `event`'s row without its reactions: only for the round-trip
/// test of every kind through each database (reactions need real data).
#[doc(hidden)]
pub async fn write_row_for_tests<C: ConnectionTrait>(
    db: &C,
    subject: Uuid,
    event: &Event,
) -> Result<()> {
    write(db, subject, event).await
}

#[cfg(test)]
mod public_tests;

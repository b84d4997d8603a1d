//! The pull side of events out: staff services read the events in their
//! one order, in their outward form (`public`), from a cursor they keep —
//! the same messages webhooks push, for a service that would rather ask.
//! The catalogue lists every kind with its data's JSON Schema.

use sea_orm::{ConnectionTrait, Iterable};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::public::{PublicEvent, data_schema, public};
use super::schema::data_json_schema;
use super::{EventKind, after, head};
use crate::error::{FieldError, Result};
use crate::page;
use crate::policy::{Allowed, ReadEvents};
use crate::types::Limit;

/// An event as the pull API serves it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedItem {
    /// The event's id (what webhooks send as `webhook-id`).
    pub id: Uuid,
    /// Its place in the one order.
    pub position: i64,
    #[serde(flatten)]
    pub event: PublicEvent,
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Feed {
    pub items: Vec<FeedItem>,
    /// Always given: pass it as `after` to read on (also when this page is
    /// empty, to wait for what comes next).
    pub next_cursor: String,
    /// More events are there now; ask again at once.
    pub has_more: bool,
}

/// One kind of the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventType {
    /// The dotted name (`tier.changed`).
    #[serde(rename = "type")]
    pub r#type: String,
    /// What the event's subject is (a submission, a talent…).
    pub subject_type: String,
    /// The name of its data's schema in the OpenAPI document.
    pub data_schema_name: String,
    /// The JSON Schema (2020-12) of its `data`, standing alone.
    #[schema(value_type = Object)]
    pub data_schema: serde_json::Value,
}

/// Every kind, in the enum's order.
pub fn catalogue() -> Vec<EventType> {
    EventKind::iter()
        .map(|k| EventType {
            r#type: k.as_str().to_owned(),
            subject_type: k.subject_type().to_owned(),
            data_schema_name: data_schema(k).to_owned(),
            data_schema: data_json_schema(k),
        })
        .collect()
}

/// The kinds a comma-separated list names (empty: none named, so all).
pub fn parse_kinds(field: &str, raw: &str) -> std::result::Result<Vec<EventKind>, FieldError> {
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = EventKind::iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| FieldError::new(field, format!("unknown event type {name:?}")))?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    Ok(out)
}

/// Up to `limit` events after the cursor (from the first without one), of
/// `kinds` only when some are named.
pub async fn feed<C: ConnectionTrait>(
    db: &C,
    _allowed: &Allowed<ReadEvents>,
    cursor: Option<&str>,
    kinds: &[EventKind],
    limit: Limit,
) -> Result<Feed> {
    let from: i64 = page::decode(cursor)?.unwrap_or(0);
    // Every position up to the head is given and committed: reading up to
    // it, a page that ends short has seen all there is to the head.
    let upto = head(db).await?;
    let rows = after(db, from, kinds, limit.get()).await?;
    let full = rows.len() as u64 == limit.get();
    let items: Vec<FeedItem> = rows
        .into_iter()
        .filter(|e| e.position <= upto)
        .map(|e| FeedItem {
            id: e.stored.id,
            position: e.position,
            event: public(&e.stored),
        })
        .collect();
    let has_more = full && items.len() as u64 == limit.get();
    let next = match items.last() {
        Some(last) if has_more => last.position,
        Some(_) | None => upto.max(from),
    };
    Ok(Feed {
        items,
        next_cursor: page::encode(&next.to_string()),
        has_more,
    })
}

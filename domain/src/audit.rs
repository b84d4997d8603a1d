//! The audit log: every staff action, with actor, target and before/after.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::Actor;
use crate::db::{self, SqlBuilder};
use crate::entities::audit_log;
use crate::error::Result;
use crate::page::{self, Page};
use crate::policy::{Allowed, ReadAuditLog};
use crate::types::Limit;
use crate::{new_id, now};

pub fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    action: &str,
    target_type: &str,
    target_id: Option<String>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    audit_log::ActiveModel {
        id: Set(new_id()),
        actor_kind: Set(actor.kind.to_owned()),
        actor_id: Set(actor.id),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id),
        before: Set(before),
        after: Set(after),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    /// `user`, `api_key`, `cli` or `system`.
    pub actor_kind: String,
    #[schema(required = true)]
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    #[schema(required = true)]
    pub target_id: Option<String>,
    #[schema(required = true)]
    pub before: Option<serde_json::Value>,
    #[schema(required = true)]
    pub after: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<String>,
}

/// Newest first.
pub async fn list(
    db: &DatabaseConnection,
    _allowed: &Allowed<ReadAuditLog>,
    f: &AuditFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<AuditEntry>> {
    let before: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM audit_log WHERE 1 = 1");
    if let Some(a) = &f.action {
        let p = b.bind(a.as_str());
        b.push(&format!(" AND action = {p}"));
    }
    if let Some(a) = f.actor_id {
        let p = b.bind(a);
        b.push(&format!(" AND actor_id = {p}"));
    }
    if let Some(t) = &f.target_id {
        let p = b.bind(t.as_str());
        b.push(&format!(" AND target_id = {p}"));
    }
    if let Some(c) = before {
        let p = b.bind(c);
        b.push(&format!(" AND id < {p}"));
    }
    b.push(&format!(" ORDER BY id DESC LIMIT {}", limit.get() + 1));
    let rows = audit_log::Entity::find()
        .from_raw_sql(db::stmt(db, &b.sql, b.values))
        .all(db)
        .await?;
    let items = rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            before: r.before,
            after: r.after,
            created_at: r.created_at,
        })
        .collect();
    Ok(Page::from_rows(items, limit.get(), |e: &AuditEntry| {
        e.id.to_string()
    }))
}

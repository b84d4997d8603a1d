//! The tier history: every change of a talent's tier in a track, automatic
//! or by a person, with the reason and the evidence (submissions, reviews,
//! the certificate). Readable by the talent and by staff.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::Caller;
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::events::{self, Event};
use crate::page::{self, Page};
use crate::policy;
use crate::types::{Limit, Track};
use crate::{new_id, now};

/// One step of a talent's tier in a track.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct TierChange {
    pub id: Uuid,
    pub talent_id: Uuid,
    pub track: Track,
    pub from_tier: i16,
    pub to_tier: i16,
    /// `automatic` (the requirements decided) or `user` (a manager, lead or admin).
    pub actor_kind: String,
    /// The person who made the change; null when automatic.
    #[schema(required = true)]
    pub actor_id: Option<Uuid>,
    pub reason: String,
    /// Ids of the submission and review that moved it, the requirements'
    /// values, the playbook version certified against, what stopped holding.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub evidence: serde_json::Value,
    /// The certificate this change issued or revoked.
    #[schema(required = true)]
    pub certificate_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A change about to be recorded.
pub(crate) struct Change {
    pub talent: Uuid,
    pub track: Track,
    pub from: i16,
    pub to: i16,
    pub actor: Option<Uuid>,
    pub reason: String,
    pub evidence: serde_json::Value,
    pub certificate: Option<Uuid>,
}

impl Change {
    pub fn automatic(
        talent: Uuid,
        track: Track,
        from: i16,
        to: i16,
        reason: &str,
        evidence: serde_json::Value,
    ) -> Self {
        Self {
            talent,
            track,
            from,
            to,
            actor: None,
            reason: reason.to_owned(),
            evidence,
            certificate: None,
        }
    }
}

/// Records the change and its `tier.changed` event (appended without
/// reactions: the tier code does not react to itself).
pub(crate) async fn record<C: ConnectionTrait>(tx: &C, c: Change) -> Result<TierChange> {
    let id = new_id();
    db::execute(
        tx,
        "INSERT INTO tier_changes (id, talent_id, track, from_tier, to_tier, actor_kind, actor_id, reason, \
         evidence, certificate_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        [
            id.into(),
            c.talent.into(),
            c.track.into(),
            c.from.into(),
            c.to.into(),
            if c.actor.is_some() { "user" } else { "automatic" }.into(),
            c.actor.into(),
            c.reason.into(),
            c.evidence.into(),
            c.certificate.into(),
            now().into(),
        ],
    )
    .await?;
    let change: TierChange =
        db::fetch_one(tx, "SELECT * FROM tier_changes WHERE id = $1", [id.into()])
            .await?
            .ok_or_else(|| DomainError::bug("a tier change just written is missing"))?;
    events::record(tx, change.talent_id, Event::TierChanged(change.clone())).await?;
    Ok(change)
}

/// A talent's tier history, newest first: to the talent and to staff.
pub async fn tier_history(
    db: &DatabaseConnection,
    caller: &Caller,
    talent: Uuid,
    track: Option<Track>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<TierChange>> {
    policy::may_read_private_of(caller, talent)?;
    if !db::exists(db, "SELECT 1 FROM users WHERE id = $1", [talent.into()]).await? {
        return Err(DomainError::NotFound("talent"));
    }
    let before: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM tier_changes WHERE talent_id = ");
    let p = b.bind(talent);
    b.push(&p);
    if let Some(track) = track {
        let p = b.bind(track);
        b.push(&format!(" AND track = {p}"));
    }
    if let Some(before) = before {
        let p = b.bind(before);
        b.push(&format!(" AND id < {p}"));
    }
    b.push(&format!(" ORDER BY id DESC LIMIT {}", limit.get() + 1));
    let rows: Vec<TierChange> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(Page::from_rows(rows, limit.get(), |c: &TierChange| {
        c.id.to_string()
    }))
}

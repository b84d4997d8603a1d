//! Client engagements: a guarded counter on the pod keeps the open ones
//! within its capacity; the records stay for the peak concurrency.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Engagement, PodStatus, pod_row};
use crate::db;
use crate::error::{DomainError, Result};
use crate::idempotency::{self, Idempotency};
use crate::policy::{Allowed, ManagePods};
use crate::types::Text;
use crate::{audit, new_id, now};

/// A client engagement as the lead records it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementSpec {
    #[schema(example = "Acme Sneakers")]
    pub client_name: String,
}

/// Records an engagement, starting now (a backdated start could overlap
/// ended ones and carry the pod past its capacity in the records); beyond
/// the pod's capacity it is 409 `pod_at_capacity` (a guarded counter, so
/// concurrent ones never exceed it).
pub async fn add_engagement(
    db: &DatabaseConnection,
    allowed: &Allowed<ManagePods>,
    idem: Option<&Idempotency>,
    pod: Uuid,
    spec: EngagementSpec,
) -> Result<Engagement> {
    let client = Text::parse("client_name", &spec.client_name, 1, 200)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    let at = now();
    let started = at;
    idempotency::run_optional(db, idem, "pod.engagement_add", &serde_json::json!({ "pod": pod, "engagement": spec }), async |tx| {
        let p = pod_row(tx, pod).await?;
        if matches!(p.status, PodStatus::Closed | PodStatus::Paused) {
            return Err(DomainError::PodClosed(p.status.as_str()));
        }
        let moved = db::execute(
            tx,
            "UPDATE pods SET active_engagements = active_engagements + 1, updated_at = $1 \
             WHERE id = $2 AND active_engagements < client_capacity AND status IN ('forming', 'active')",
            [at.into(), pod.into()],
        )
        .await?;
        if moved == 0 {
            let p = pod_row(tx, pod).await?;
            return Err(match p.status {
                PodStatus::Closed | PodStatus::Paused => DomainError::PodClosed(p.status.as_str()),
                _ => DomainError::PodAtCapacity(p.client_capacity),
            });
        }
        let id = new_id();
        db::execute(
            tx,
            "INSERT INTO engagements (id, pod_id, client_name, started_at, ended_at, created_at) VALUES ($1, $2, $3, $4, NULL, $5)",
            [id.into(), pod.into(), client.as_str().into(), started.into(), at.into()],
        )
        .await?;
        let e = find_engagement(tx, pod, id).await?;
        audit::record(
            tx,
            allowed.caller().actor(),
            "pod.engagement_add",
            "pod",
            Some(pod.to_string()),
            None,
            Some(audit::json(&e)),
        )
        .await?;
        Ok(e)
    })
    .await
}

async fn find_engagement<C: ConnectionTrait>(db: &C, pod: Uuid, id: Uuid) -> Result<Engagement> {
    db::fetch_one(
        db,
        "SELECT id, pod_id, client_name, started_at, ended_at FROM engagements WHERE id = $1 AND pod_id = $2",
        [id.into(), pod.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("engagement"))
}

/// Ends an open engagement (once: a second end is 409).
pub async fn end_engagement(
    db: &DatabaseConnection,
    allowed: &Allowed<ManagePods>,
    idem: Option<&Idempotency>,
    pod: Uuid,
    id: Uuid,
) -> Result<Engagement> {
    idempotency::run_optional(db, idem, "pod.engagement_end", &serde_json::json!({ "pod": pod, "engagement": id }), async |tx| {
        find_engagement(tx, pod, id).await?;
        let at = now();
        let ended = db::execute(
            tx,
            "UPDATE engagements SET ended_at = $1 WHERE id = $2 AND pod_id = $3 AND ended_at IS NULL",
            [at.into(), id.into(), pod.into()],
        )
        .await?;
        if ended == 0 {
            return Err(DomainError::EngagementEnded);
        }
        db::execute(
            tx,
            "UPDATE pods SET active_engagements = active_engagements - 1, updated_at = $1 WHERE id = $2 AND active_engagements > 0",
            [at.into(), pod.into()],
        )
        .await?;
        let e = find_engagement(tx, pod, id).await?;
        audit::record(
            tx,
            allowed.caller().actor(),
            "pod.engagement_end",
            "pod",
            Some(pod.to_string()),
            None,
            Some(audit::json(&e)),
        )
        .await?;
        Ok(e)
    })
    .await
}

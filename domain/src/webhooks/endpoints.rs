//! The endpoints admins register: where events go, which kinds, and the
//! secrets that sign them. A secret is shown once, when it is made (at
//! creation or rotation); after a rotation the previous one signs beside
//! it for [`ROTATION_OVERLAP_HOURS`], so receivers can switch without a gap.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DeriveActiveEnum, EnumIter, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::address::{self, Reach};
use super::signature;
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, FieldError, Result};
use crate::events::EventKind;
use crate::page::{self, Page};
use crate::policy::{Allowed, ManageWebhooks};
use crate::types::{Limit, Text, Validator};
use crate::{audit, new_id, now};

/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
const MAX_DESCRIPTION: usize = 500;

/// Why an endpoint is disabled.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum DisabledReason {
    /// An admin disabled it.
    Admin,
    /// It answered 410 Gone.
    Gone,
    /// Every attempt failed for `KARTEL_WEBHOOK_DISABLE_AFTER_SECONDS` (5 days).
    Failing,
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema, FromQueryResult)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The event kinds it receives; empty: every kind.
    #[schema(value_type = Vec<String>, example = json!(["tier.changed", "handoff.accepted"]))]
    pub event_types: serde_json::Value,
    pub disabled: bool,
    #[schema(required = true)]
    pub disabled_reason: Option<DisabledReason>,
    #[schema(required = true)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every attempt failed (null after a success).
    #[schema(required = true)]
    pub failing_since: Option<DateTime<Utc>>,
    /// After a rotation: until when the previous secret also signs.
    #[schema(required = true)]
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint with its new secret: shown at creation and rotation only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_` and the base64 of 32 random bytes: the key receivers verify
    /// `webhook-signature` with. It cannot be shown again.
    #[schema(example = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")]
    pub secret: String,
}

/// An endpoint as an admin registers it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// `https://…` (plain `http` only where the operator allows it), at
    /// most 2,048 characters, without credentials.
    #[schema(example = "https://hooks.example.com/kartel")]
    pub url: String,
    /// What it is for: up to 500 characters.
    #[serde(default)]
    #[schema(example = "Talent CRM sync")]
    pub description: String,
    /// Event kinds (`GET /api/v1/event-types`); empty or absent: all.
    #[serde(default)]
    #[schema(example = json!(["tier.changed"]))]
    pub event_types: Vec<String>,
    /// Created disabled (nothing is sent until it is enabled).
    #[serde(default)]
    pub disabled: bool,
}

/// A change to an endpoint: the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChange {
    #[schema(example = "https://hooks.example.com/kartel/v2")]
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `true` disables it (reason `admin`); `false` enables it again and
    /// clears the failure streak.
    pub disabled: Option<bool>,
}

const COLUMNS: &str = "id, url, description, event_types, disabled, disabled_reason, disabled_at, \
     failing_since, previous_secret_until, created_at, updated_at";

/// The kinds named in a filter, each known, without repeats.
fn parse_kinds(raw: &[String]) -> std::result::Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for name in raw {
        if super::kind_named(name).is_none() {
            return Err(FieldError::new(
                "event_types",
                format!("unknown event type {name:?} (see GET /api/v1/event-types)"),
            ));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// The kinds an endpoint's stored filter names; empty: every kind.
pub(super) fn stored_kinds(v: &serde_json::Value) -> Result<Vec<EventKind>> {
    let bad = || DomainError::Internal(anyhow::anyhow!("unreadable stored event_types: {v}"));
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|x| x.as_str().and_then(super::kind_named).ok_or_else(bad))
        .collect()
}

fn description(raw: &str) -> std::result::Result<String, FieldError> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    Text::parse("description", raw, 0, MAX_DESCRIPTION).map(Text::into_string)
}

pub(super) async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Endpoint> {
    db::fetch_one(
        db,
        &format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1"),
        [id.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("webhook endpoint"))
}

/// Registers an endpoint; its secret is in the answer only.
pub async fn create(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageWebhooks>,
    spec: &EndpointSpec,
    reach: Reach,
) -> Result<EndpointWithSecret> {
    let mut v = Validator::default();
    let url = v.check(address::parse_url(spec.url.trim(), reach));
    let description = v.check(description(&spec.description));
    let kinds = v.check(parse_kinds(&spec.event_types));
    let (url, description, kinds) = v.finish_with(|| Some((url?, description?, kinds?)))?;
    let secret = signature::new_secret()?;
    let (id, t) = (new_id(), now());
    let tx = db::begin_write(db).await?;
    db::execute(
        &tx,
        "INSERT INTO webhook_endpoints (id, url, description, event_types, disabled, \
         disabled_reason, disabled_at, secret, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        [
            id.into(),
            url.to_string().into(),
            description.into(),
            serde_json::json!(kinds).into(),
            spec.disabled.into(),
            spec.disabled.then_some(DisabledReason::Admin).into(),
            spec.disabled.then_some(t).into(),
            secret.clone().into(),
            allowed.caller().user_id().into(),
            t.into(),
        ],
    )
    .await?;
    let endpoint = find(&tx, id).await?;
    audit_change(
        &tx,
        allowed,
        "webhook_endpoint.create",
        None,
        Some(&endpoint),
    )
    .await?;
    tx.commit().await?;
    Ok(EndpointWithSecret { endpoint, secret })
}

async fn audit_change<C: ConnectionTrait>(
    tx: &C,
    allowed: &Allowed<ManageWebhooks>,
    action: &str,
    before: Option<&Endpoint>,
    after: Option<&Endpoint>,
) -> Result<()> {
    let target = after.or(before).map(|e| e.id.to_string());
    audit::record(
        tx,
        allowed.caller().actor(),
        action,
        "webhook_endpoint",
        target,
        before.map(audit::json),
        after.map(audit::json),
    )
    .await
}

/// Every endpoint, oldest first.
pub async fn list(
    db: &DatabaseConnection,
    _allowed: &Allowed<ManageWebhooks>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Endpoint>> {
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new(&format!("SELECT {COLUMNS} FROM webhook_endpoints"));
    if let Some(a) = after {
        let p = b.bind(a);
        b.push(&format!(" WHERE id > {p}"));
    }
    b.push(&format!(" ORDER BY id LIMIT {}", limit.get() + 1));
    let rows: Vec<Endpoint> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(Page::from_rows(rows, limit.get(), |e| e.id.to_string()))
}

pub async fn get(
    db: &DatabaseConnection,
    _allowed: &Allowed<ManageWebhooks>,
    id: Uuid,
) -> Result<Endpoint> {
    find(db, id).await
}

/// Changes an endpoint. Enabling it clears its failure streak; what it
/// missed while disabled is sent only when asked (`recover`).
pub async fn update(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageWebhooks>,
    id: Uuid,
    change: &EndpointChange,
    reach: Reach,
) -> Result<Endpoint> {
    let mut v = Validator::default();
    let url = change
        .url
        .as_deref()
        .and_then(|u| v.check(address::parse_url(u.trim(), reach)));
    let description = change
        .description
        .as_deref()
        .and_then(|d| v.check(description(d)));
    let kinds = change
        .event_types
        .as_deref()
        .and_then(|k| v.check(parse_kinds(k)));
    v.finish()?;
    let t = now();
    let tx = db::begin_write(db).await?;
    let before = find(&tx, id).await?;
    let mut b = SqlBuilder::new("UPDATE webhook_endpoints SET updated_at = ");
    let p = b.bind(t);
    b.push(&p);
    if let Some(u) = url {
        let p = b.bind(u.to_string());
        b.push(&format!(", url = {p}"));
    }
    if let Some(d) = description {
        let p = b.bind(d);
        b.push(&format!(", description = {p}"));
    }
    if let Some(k) = kinds {
        let p = b.bind(serde_json::json!(k));
        b.push(&format!(", event_types = {p}"));
    }
    match change.disabled {
        Some(true) if !before.disabled => {
            let (r, at) = (b.bind(DisabledReason::Admin), b.bind(t));
            b.push(&format!(
                ", disabled = TRUE, disabled_reason = {r}, disabled_at = {at}"
            ));
        }
        Some(false) if before.disabled => {
            b.push(
                ", disabled = FALSE, disabled_reason = NULL, disabled_at = NULL, \
                 failing_since = NULL",
            );
        }
        Some(_) | None => {}
    }
    let p = b.bind(id);
    b.push(&format!(" WHERE id = {p}"));
    db::execute(&tx, &b.sql, b.values).await?;
    let after = find(&tx, id).await?;
    audit_change(
        &tx,
        allowed,
        "webhook_endpoint.update",
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes an endpoint with its deliveries and attempts.
pub async fn delete(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageWebhooks>,
    id: Uuid,
) -> Result<()> {
    let tx = db::begin_write(db).await?;
    let before = find(&tx, id).await?;
    for sql in [
        "DELETE FROM webhook_attempts WHERE endpoint_id = $1",
        "DELETE FROM webhook_deliveries WHERE endpoint_id = $1",
        "DELETE FROM webhook_endpoints WHERE id = $1",
    ] {
        db::execute(&tx, sql, [id.into()]).await?;
    }
    audit_change(&tx, allowed, "webhook_endpoint.delete", Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives the endpoint a new secret; the previous one keeps signing beside
/// it for [`ROTATION_OVERLAP_HOURS`] (a rotation within that window drops
/// the one before).
pub async fn rotate_secret(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageWebhooks>,
    id: Uuid,
) -> Result<EndpointWithSecret> {
    let secret = signature::new_secret()?;
    let t = now();
    let tx = db::begin_write(db).await?;
    find(&tx, id).await?;
    db::execute(
        &tx,
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $1, \
         secret = $2, updated_at = $3 WHERE id = $4",
        [
            (t + Duration::hours(ROTATION_OVERLAP_HOURS)).into(),
            secret.clone().into(),
            t.into(),
            id.into(),
        ],
    )
    .await?;
    let endpoint = find(&tx, id).await?;
    audit_change(
        &tx,
        allowed,
        "webhook_endpoint.rotate_secret",
        None,
        Some(&endpoint),
    )
    .await?;
    tx.commit().await?;
    Ok(EndpointWithSecret { endpoint, secret })
}

//! Service API keys: scoped, revocable, shown once and stored hashed. They
//! belong to no person.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, FromQueryResult,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::ServiceCaller;
use crate::db::{self, SqlBuilder};
use crate::entities::api_keys;
use crate::error::{DomainError, FieldError, Result};
use crate::page::{self, Page};
use crate::policy::{Allowed, ManageApiKeys};
use crate::secret;
use crate::types::{Limit, Scope, Text, Validator};
use crate::{audit, new_id, now};

/// Every key starts with this, so leaked keys are easy to find in logs and code.
pub const KEY_PREFIX: &str = "kk_";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    #[schema(required = true)]
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key as created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret. Send it as `X-Api-Key`; it cannot be shown again.
    pub secret: String,
}

fn view(m: &api_keys::Model) -> Result<ApiKey> {
    Ok(ApiKey {
        id: m.id,
        name: m.name.clone(),
        prefix: m.prefix.clone(),
        scopes: Scope::decode_all(&m.scopes)?,
        created_by: m.created_by,
        created_at: m.created_at,
        revoked_at: m.revoked_at,
    })
}

pub async fn create(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageApiKeys>,
    name: &str,
    scopes: &[String],
) -> Result<CreatedApiKey> {
    let admin = allowed.caller().actor();
    let mut v = Validator::default();
    let name = v.check(Text::parse("name", name, 1, 80));
    let mut parsed = Vec::new();
    if scopes.is_empty() {
        v.push(FieldError::new("scopes", "must name at least one scope"));
    }
    for s in scopes {
        match Scope::parse(s) {
            Some(sc) if !parsed.contains(&sc) => parsed.push(sc),
            Some(_) => {}
            None => v.push(FieldError::new(
                "scopes",
                format!(
                    "unknown scope {s:?}; known scopes: {}",
                    Scope::ALL.map(Scope::as_str).join(", ")
                ),
            )),
        }
    }
    let name = v.finish_with(|| name)?;
    let secret = secret::generate(KEY_PREFIX)?;
    let model = api_keys::ActiveModel {
        id: Set(new_id()),
        name: Set(name.into_string()),
        prefix: Set(secret.chars().take(10).collect()),
        key_hash: Set(secret::digest(&secret)),
        scopes: Set(serde_json::json!(
            parsed.iter().map(|s| s.as_str()).collect::<Vec<_>>()
        )),
        created_by: Set(admin.id),
        created_at: Set(now()),
        revoked_at: Set(None),
    };
    let txn = db::begin_write(db).await?;
    let m = model.insert(&txn).await?;
    let key = view(&m)?;
    audit::record(
        &txn,
        admin,
        "api_key.create",
        "api_key",
        Some(m.id.to_string()),
        None,
        Some(audit::json(&key)),
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedApiKey { key, secret })
}

pub async fn list(
    db: &DatabaseConnection,
    _allowed: &Allowed<ManageApiKeys>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<ApiKey>> {
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM api_keys");
    if let Some(a) = after {
        let p = b.bind(a);
        b.push(&format!(" WHERE id > {p}"));
    }
    b.push(&format!(" ORDER BY id LIMIT {}", limit.get() + 1));
    let rows = api_keys::Entity::find()
        .from_raw_sql(db::stmt(db, &b.sql, b.values))
        .all(db)
        .await?;
    let keys = rows.iter().map(view).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(keys, limit.get(), |k: &ApiKey| {
        k.id.to_string()
    }))
}

pub async fn get(
    db: &DatabaseConnection,
    _allowed: &Allowed<ManageApiKeys>,
    id: Uuid,
) -> Result<ApiKey> {
    let m = api_keys::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("API key"))?;
    view(&m)
}

/// Revokes a key; revoking a revoked key changes nothing.
pub async fn revoke(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageApiKeys>,
    id: Uuid,
) -> Result<()> {
    let admin = allowed.caller().actor();
    let t = now();
    let txn = db::begin_write(db).await?;
    let n = db::execute(
        &txn,
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        [t.into(), id.into()],
    )
    .await?;
    if n == 0 {
        // Unknown keys are 404; an already revoked key is simply still revoked.
        api_keys::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound("API key"))?;
        return Ok(());
    }
    audit::record(
        &txn,
        admin,
        "api_key.revoke",
        "api_key",
        Some(id.to_string()),
        None,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct LiveKey {
    id: Uuid,
    scopes: serde_json::Value,
}

/// The service behind a presented secret, if the key exists and is not revoked.
pub async fn authenticate(db: &DatabaseConnection, secret: &str) -> Result<Option<ServiceCaller>> {
    if !secret.starts_with(KEY_PREFIX) || secret.len() > 128 {
        return Ok(None);
    }
    // Hand-written: this runs on every service request.
    let row: Option<LiveKey> = db::fetch_one(
        db,
        "SELECT id, scopes FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        [secret::digest(secret).into()],
    )
    .await?;
    row.map(|k| {
        Ok(ServiceCaller {
            key_id: k.id,
            scopes: Scope::decode_all(&k.scopes)?,
        })
    })
    .transpose()
}

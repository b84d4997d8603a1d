//! Idempotency keys, stored in the same database transaction as the effect.
//!
//! The effect runs first and the key row, carrying the response, is the
//! transaction's last write: of two calls with one key, the second waits on
//! the key's unique index (PostgreSQL) or the write lock (SQLite, which
//! begins write transactions `IMMEDIATE`), finds the key taken, rolls its own
//! effect back and answers with the stored outcome. So a key has one effect
//! and one answer, and the common path pays one statement for it. Business
//! refusals are stored too: a retry of a refused request is refused the same
//! way and never turns into a success later (as TigerBeetle does). Faults
//! (internal errors, an unreachable database) are never stored: the retry
//! runs again.
//!
//! On PostgreSQL a spend takes a shorter road to the same rule: the effect and
//! the key row are one autocommitted statement (see `ledger::spends`); a
//! taken key fails that statement whole, and the stored outcome is replayed
//! with [`replay`].

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DeriveActiveEnum,
    EnumIter, FromQueryResult,
};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::db;
use crate::error::{Conflict, DomainError, ErrorKind, Result};
use crate::now;

/// The primary key of `idempotency_keys`, as PostgreSQL names it.
const KEY_CONSTRAINT: &str = "idempotency_keys_pkey";

/// A client's `Idempotency-Key`, namespaced by who sent it.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub scope: String,
    pub key: String,
}

impl Idempotency {
    /// Checks a raw header value: 1–255 visible ASCII characters.
    pub fn parse(scope: String, raw: &str) -> Result<Self> {
        let ok =
            !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok {
            Ok(Self {
                scope,
                key: raw.to_owned(),
            })
        } else {
            Err(DomainError::field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters (a UUID is a good choice)",
            ))
        }
    }

    /// The key of a request that must carry one.
    pub fn required(idem: Option<&Idempotency>) -> Result<&Idempotency> {
        idem.ok_or_else(|| {
            DomainError::field(
                "Idempotency-Key",
                "this request needs an Idempotency-Key header",
            )
        })
    }
}

/// How the first request with a key ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Error,
}

/// The request's fingerprint: its operation and canonical JSON.
pub fn fingerprint<R: Serialize>(operation: &str, request: &R) -> Result<String> {
    let json = serde_json::to_string(request).map_err(|e| anyhow::anyhow!(e))?;
    let mut h = Sha256::new();
    h.update(operation.as_bytes());
    h.update(b"\n");
    h.update(json.as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// Runs `effect` at most once per key: the first call's outcome (success or
/// refusal) is stored with it and returned to every retry with the same request.
pub async fn run<T, R, F>(
    db: &DatabaseConnection,
    idem: &Idempotency,
    operation: &str,
    request: &R,
    effect: F,
) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    R: Serialize,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<T>,
{
    let hash = fingerprint(operation, request)?;
    let txn = db::begin_write(db).await?;
    match effect(&txn).await {
        Ok(value) => {
            let response = serde_json::to_value(&value).map_err(|e| anyhow::anyhow!(e))?;
            if !claim(&txn, idem, operation, &hash, Outcome::Ok, response).await? {
                // The key was used first by another call: undo this one.
                txn.rollback().await?;
                return replay(db, idem, &hash).await;
            }
            txn.commit().await?;
            Ok(value)
        }
        Err(e) if e.is_refusal() => {
            // Undo everything, then remember the refusal under the key in a
            // transaction of its own. If another call with this key got there
            // first, its outcome is the key's outcome, and this caller gets it.
            txn.rollback().await?;
            let mut response = serde_json::json!({ "code": e.code(), "detail": e.to_string() });
            if let Some(c) = e.conflict() {
                response["conflict"] = c.as_str().into();
            }
            let txn = db::begin_write(db).await?;
            if !claim(&txn, idem, operation, &hash, Outcome::Error, response).await? {
                txn.rollback().await?;
                return replay(db, idem, &hash).await;
            }
            txn.commit().await?;
            Err(e)
        }
        // A fault: nothing is stored, the transaction rolls back on drop, and
        // a retry with the key runs again.
        Err(e) => Err(e),
    }
}

/// [`run`] when the client sent a key; otherwise the effect in a write
/// transaction of its own (for requests where a key is welcome, not required).
pub async fn run_optional<T, R, F>(
    db: &DatabaseConnection,
    idem: Option<&Idempotency>,
    operation: &str,
    request: &R,
    effect: F,
) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    R: Serialize,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<T>,
{
    if let Some(idem) = idem {
        return run(db, idem, operation, request, effect).await;
    }
    let txn = db::begin_write(db).await?;
    let value = effect(&txn).await?;
    txn.commit().await?;
    Ok(value)
}

/// Inserts the key row with the outcome, in the effect's transaction; false
/// when the key is taken. On PostgreSQL a plain insert (cheaper than `ON
/// CONFLICT`; the insert first waits for a concurrent holder of the key to
/// commit or roll back) whose duplicate error, recognised by the constraint's
/// name, ends the transaction — the caller rolls back then anyway. SQLite
/// names no constraint, so there `ON CONFLICT DO NOTHING` tells.
async fn claim(
    txn: &DatabaseTransaction,
    idem: &Idempotency,
    operation: &str,
    hash: &str,
    outcome: Outcome,
    response: serde_json::Value,
) -> Result<bool> {
    let on_conflict = match txn.get_database_backend() {
        DbBackend::Postgres => "",
        _ => " ON CONFLICT DO NOTHING",
    };
    let inserted = db::execute(
        txn,
        &format!(
            "INSERT INTO idempotency_keys (scope, key, operation, request_hash, outcome, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7){on_conflict}"
        ),
        [
            idem.scope.clone().into(),
            idem.key.clone().into(),
            operation.into(),
            hash.into(),
            outcome.into(),
            response.into(),
            now().into(),
        ],
    )
    .await;
    match inserted {
        Ok(n) => Ok(n == 1),
        Err(e) if key_taken(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether `err` is the insert of a key row that another call stored first.
pub(crate) fn key_taken(err: &sea_orm::DbErr) -> bool {
    db::violated_unique_constraint(err) == Some(KEY_CONSTRAINT)
}

#[derive(FromQueryResult)]
struct StoredKey {
    request_hash: String,
    outcome: Outcome,
    response: Option<serde_json::Value>,
}

/// The stored outcome of a key, for a request with fingerprint `hash`.
pub(crate) async fn replay<T: DeserializeOwned>(
    db: &DatabaseConnection,
    idem: &Idempotency,
    hash: &str,
) -> Result<T> {
    let stored: StoredKey = db::fetch_one(
        db,
        "SELECT request_hash, outcome, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
        [idem.scope.clone().into(), idem.key.clone().into()],
    )
    .await?
    .ok_or(DomainError::IdempotencyInProgress)?;
    if stored.request_hash != hash {
        return Err(DomainError::IdempotencyKeyReused);
    }
    let response = stored.response.unwrap_or_default();
    match stored.outcome {
        Outcome::Ok => serde_json::from_value(response).map_err(|e| {
            DomainError::from(anyhow::anyhow!("a stored answer does not decode: {e}"))
        }),
        Outcome::Error => {
            let code = response["code"].as_str().unwrap_or_default();
            // Only refusals are stored; anything else is unreadable, not replayed.
            let kind = ErrorKind::from_code(code)
                .filter(|k| k.is_refusal())
                .ok_or_else(|| anyhow::anyhow!("a stored refusal has an unknown code {code:?}"))?;
            Err(DomainError::Replayed {
                kind,
                detail: response["detail"].as_str().unwrap_or_default().to_owned(),
                conflict: response["conflict"].as_str().and_then(Conflict::parse),
            })
        }
    }
}

/// Forgets keys older than `retention` (the background job): a retry after
/// that is a new request. Returns how many were removed.
pub async fn forget_keys(db: &DatabaseConnection, retention: chrono::Duration) -> Result<u64> {
    let before = now() - retention;
    Ok(db::execute(
        db,
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        [before.into()],
    )
    .await?)
}

//! Idempotency keys, stored in the same database transaction as the effect.
//!
//! The effect runs first and the key row, carrying the response, is the
//! transaction's last write: of two calls with one key, the second waits on
//! the key's unique index (PostgreSQL) or the write lock (SQLite, which
//! begins write transactions `IMMEDIATE`), finds the key taken, rolls its own
//! effect back and answers with the stored outcome. So a key has one effect
//! and one answer, and the common path pays one statement for it. Business
//! refusals are stored too: a retry of a refused request is refused the same
//! way and never turns into a success later (as TigerBeetle does).
//!
//! On PostgreSQL a spend takes a shorter road to the same rule: the effect and
//! the key row are one autocommitted statement (see `spend_in_one_statement`
//! in the ledger); a taken key fails that statement whole, and the stored
//! outcome is replayed with [`replay`].

use sea_orm::{DatabaseConnection, DatabaseTransaction, SqlErr};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::db;
use crate::error::{DomainError, Result};
use crate::now;

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
}

/// The request's fingerprint: its operation and canonical JSON.
pub(super) fn fingerprint(operation: &str, request: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(operation.as_bytes());
    h.update(b"\n");
    h.update(request.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Runs `effect` at most once per key: the first call's outcome (success or
/// refusal) is stored with it and returned to every retry with the same request.
pub async fn run<T, F>(
    db: &DatabaseConnection,
    idem: &Idempotency,
    operation: &str,
    request: serde_json::Value,
    effect: F,
) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<T>,
{
    let hash = fingerprint(operation, &request);
    let txn = db::begin_write(db).await?;
    match effect(&txn).await {
        Ok(value) => {
            let response = serde_json::to_value(&value).map_err(|e| anyhow::anyhow!(e))?;
            if !claim(&txn, idem, operation, &hash, "ok", response).await? {
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
            let response = serde_json::json!({ "code": e.code(), "detail": e.to_string() });
            let txn = db::begin_write(db).await?;
            if !claim(&txn, idem, operation, &hash, "error", response).await? {
                txn.rollback().await?;
                return replay(db, idem, &hash).await;
            }
            txn.commit().await?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Inserts the key row with the outcome, in the effect's transaction; false
/// when the key is taken (on PostgreSQL the insert first waits for a
/// concurrent holder of the key to commit or roll back). A plain insert whose
/// duplicate error ends the transaction: cheaper than `ON CONFLICT`, and the
/// caller rolls back in that case anyway.
async fn claim(
    txn: &DatabaseTransaction,
    idem: &Idempotency,
    operation: &str,
    hash: &str,
    outcome: &str,
    response: serde_json::Value,
) -> Result<bool> {
    let inserted = db::execute(
        txn,
        "INSERT INTO idempotency_keys (scope, key, operation, request_hash, outcome, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        Ok(_) => Ok(true),
        Err(e) if key_taken(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether `err` is the insert of a key row that another call stored first.
pub(super) fn key_taken(err: &sea_orm::DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(m)) if m.contains("idempotency_keys"))
}

/// The stored outcome of a key, for a request with fingerprint `hash`.
pub(super) async fn replay<T: DeserializeOwned>(
    db: &DatabaseConnection,
    idem: &Idempotency,
    hash: &str,
) -> Result<T> {
    let row = db::query_one(
        db,
        "SELECT request_hash, outcome, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
        [idem.scope.clone().into(), idem.key.clone().into()],
    )
    .await?
    .ok_or(DomainError::IdempotencyInProgress)?;
    replay_row(&row, hash)
}

fn replay_row<T: DeserializeOwned>(row: &sea_orm::QueryResult, hash: &str) -> Result<T> {
    let stored_hash: String = db::get(row, "request_hash")?;
    if stored_hash != hash {
        return Err(DomainError::IdempotencyKeyReused);
    }
    let outcome: String = db::get(row, "outcome")?;
    let response: Option<serde_json::Value> = db::get(row, "response")?;
    let response = response.unwrap_or_default();
    match outcome.as_str() {
        "ok" => {
            serde_json::from_value(response).map_err(|e| DomainError::Internal(anyhow::anyhow!(e)))
        }
        "error" => Err(DomainError::Replayed {
            code: response["code"]
                .as_str()
                .unwrap_or("internal_error")
                .to_owned(),
            detail: response["detail"].as_str().unwrap_or_default().to_owned(),
        }),
        _ => Err(DomainError::IdempotencyInProgress),
    }
}

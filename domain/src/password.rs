//! Argon2id password hashing, run off the async executor.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::DomainError;

/// A hash of a throw-away password: verifying against it when an email is
/// unknown makes a failed login take as long whether or not the account exists.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            Argon2::default()
                .hash_password(b"not-a-real-password")
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// At most this many hashes run at once: each takes ~19 MiB and a core for a
/// while, so a burst of sign-ins queues here instead of exhausting memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

async fn permit() -> Result<tokio::sync::SemaphorePermit<'static>, DomainError> {
    HASHING
        .acquire()
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!(e)))
}

pub async fn hash(password: String) -> Result<String, DomainError> {
    let _permit = permit().await?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
    })
    .await
    .map_err(|e| anyhow::anyhow!(e))?
    .map_err(DomainError::from)
}

/// True when `password` matches `stored`; `None` runs a dummy verification.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, DomainError> {
    let _permit = permit().await?;
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(dummy_hash);
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        ok && real
    })
    .await
    .map_err(|e| DomainError::Internal(anyhow::anyhow!(e)))
}

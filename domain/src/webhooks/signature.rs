//! Standard Webhooks 1.0 signatures: a secret is `whsec_` and the base64 of
//! 32 random bytes (the HMAC key); a signature is `v1,` and the base64 of
//! HMAC-SHA256 over `"{webhook-id}.{webhook-timestamp}.{body}"`; the
//! `webhook-signature` header lists one per signing secret, space-separated.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{DomainError, Result};

pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret.
pub fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// One `v1,<base64>` signature of `body` sent as message `id` at
/// `timestamp` (Unix seconds) with `secret`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|e| {
            DomainError::Internal(anyhow::anyhow!("a stored secret is not base64: {e}"))
        })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("an unusable HMAC key: {e}")))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: a signature by each secret, the newest
/// first.
pub fn header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> Result<String> {
    let signed = secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Result<Vec<_>>>()?;
    Ok(signed.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries
    /// (`standard-webhooks/libraries`, e.g. the Rust crate's `test_sign`).
    #[test]
    fn the_specs_test_vector_signs_as_published() {
        let got = sign(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            r#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(
            got.ok().as_deref(),
            Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")
        );
    }

    #[test]
    fn a_new_secret_is_32_random_bytes_behind_the_prefix() {
        let a = new_secret().unwrap_or_default();
        let b = new_secret().unwrap_or_default();
        assert_ne!(a, b);
        let raw = STANDARD
            .decode(a.strip_prefix(SECRET_PREFIX).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn two_secrets_sign_space_separated_newest_first() {
        let (new, old) = (
            new_secret().unwrap_or_default(),
            new_secret().unwrap_or_default(),
        );
        let h = header(&[&new, &old], "id", 1, "{}").unwrap_or_default();
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(Some(parts[0].to_owned()), sign(&new, "id", 1, "{}").ok());
        assert_eq!(Some(parts[1].to_owned()), sign(&old, "id", 1, "{}").ok());
    }
}

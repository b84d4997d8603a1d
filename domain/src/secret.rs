//! Bearer secrets (refresh tokens, API keys, mailed links): 32 random bytes
//! behind a prefix that says what they are, and the SHA-256 hex digest they
//! are stored and looked up by (the secret itself is never stored).

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::page;

/// A new secret: `prefix` and 32 random bytes, base64url.
pub fn generate(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{prefix}{}", page::encode_bytes(&bytes)))
}

/// What a secret is stored and looked up by.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

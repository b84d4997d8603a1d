//! Single-use, expiring account tokens (email verification, password
//! reset), stored only as hashes, and the rules that some things need a
//! verified email address or an active account. A leaf: it imports nothing
//! of the aggregates, so the ledger, challenges, tiers and pods all ask it.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::db;
use crate::error::{DomainError, Result};
use crate::secret;
use crate::types::UserStatus;
use crate::{new_id, now};

/// What a token proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Control of `email` (a new account's address, or a new address).
    VerifyEmail,
    /// Control of the account's address, to choose a new password.
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
        }
    }

    /// Whether `token` looks like one of this purpose's (no lookup for others).
    fn fits(self, token: &str) -> bool {
        token.starts_with(self.prefix()) && token.len() <= 128
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::VerifyEmail => "ve_",
            Self::PasswordReset => "pr_",
        }
    }

    /// How long a token is good for.
    pub fn ttl(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(48),
            Self::PasswordReset => Duration::minutes(30),
        }
    }
}

/// Issues a token for `user` proving `email`, in the caller's transaction.
/// Earlier unused tokens of the same purpose stop working: only the newest
/// link does anything.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    purpose: Purpose,
    email: &str,
) -> Result<String> {
    let token = secret::generate(purpose.prefix())?;
    let t = now();
    db::execute(
        db,
        "UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
        [t.into(), user.into(), purpose.as_str().into()],
    )
    .await?;
    db::execute(
        db,
        "INSERT INTO account_tokens (id, user_id, purpose, token_hash, email, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        [
            new_id().into(),
            user.into(),
            purpose.as_str().into(),
            secret::digest(&token).into(),
            email.into(),
            t.into(),
            (t + purpose.ttl()).into(),
        ],
    )
    .await?;
    Ok(token)
}

/// What a redeemed token proved.
#[derive(Debug, FromQueryResult)]
pub struct Redeemed {
    pub user_id: Uuid,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

/// Uses `token` up, in the caller's transaction (a guarded update: of two
/// concurrent redemptions one wins). Wrong, used and expired tokens are all
/// `invalid_token`.
pub async fn redeem<C: ConnectionTrait>(db: &C, purpose: Purpose, token: &str) -> Result<Redeemed> {
    if !purpose.fits(token) {
        return Err(DomainError::InvalidToken);
    }
    let t = now();
    db::fetch_one(
        db,
        "UPDATE account_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, email, created_at",
        [
            t.into(),
            secret::digest(token).into(),
            purpose.as_str().into(),
        ],
    )
    .await?
    .ok_or(DomainError::InvalidToken)
}

/// Ends the unused tokens of `user`: of one purpose, or all (an erasure).
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    purpose: Option<Purpose>,
) -> Result<()> {
    let mut sql =
        "UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL".to_owned();
    let mut values: Vec<sea_orm::Value> = vec![now().into(), user.into()];
    if let Some(p) = purpose {
        sql.push_str(" AND purpose = $3");
        values.push(p.as_str().into());
    }
    db::execute(db, &sql, values).await?;
    Ok(())
}

/// Ends pending email changes of `user` (verification tokens for an
/// address that is not the account's): a password change or reset means
/// the person takes the account back, so a change someone else started
/// with the old password must not complete.
pub async fn revoke_pending_changes<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<()> {
    db::execute(
        db,
        "UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = 'verify_email' \
         AND used_at IS NULL AND email <> (SELECT email FROM users WHERE id = $2)",
        [now().into(), user.into()],
    )
    .await?;
    Ok(())
}

/// Whether `token` could be redeemed now (a cheap read before costly work).
pub async fn redeemable<C: ConnectionTrait>(db: &C, purpose: Purpose, token: &str) -> Result<bool> {
    if !purpose.fits(token) {
        return Ok(false);
    }
    Ok(db::exists(
        db,
        "SELECT 1 FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        [secret::digest(token).into(), purpose.as_str().into(), now().into()],
    )
    .await?)
}

#[derive(FromQueryResult)]
struct Verified {
    verified: bool,
}

/// Whether `user` has verified their email address.
pub async fn is_verified<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<bool> {
    Ok(db::fetch_one::<Verified, _>(
        db,
        "SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = $1",
        [user.into()],
    )
    .await?
    .is_some_and(|v| v.verified))
}

/// Refuses (403 `email_unverified`) a talent whose email is not verified:
/// claiming an allowance, submitting work, being certified or nominated.
pub async fn require_verified<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<()> {
    if is_verified(db, user).await? {
        Ok(())
    } else {
        Err(DomainError::EmailUnverified)
    }
}

#[derive(FromQueryResult)]
struct Status {
    status: UserStatus,
}

/// Refuses (422 `account_not_active`) a person whose account is suspended
/// or erased: they are not certified, nominated, accepted or placed. The
/// caller holds the tier code's lock on the person, which a suspension and
/// an erasure take too, so the answer holds until its transaction ends.
pub async fn require_active<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<()> {
    let s: Status = db::fetch_one(db, "SELECT status FROM users WHERE id = $1", [user.into()])
        .await?
        .ok_or(DomainError::NotFound("talent"))?;
    match s.status {
        UserStatus::Active => Ok(()),
        other => Err(DomainError::AccountNotActive(other)),
    }
}

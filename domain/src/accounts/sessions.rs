//! Signing in: sessions carried by access tokens, refresh tokens that rotate
//! on every use (a reused one ends its session), the per-request check of
//! session and account, logout and password change.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, FromQueryResult, QueryFilter,
};
use uuid::Uuid;

use super::{Account, account_of};
use crate::caller::UserCaller;
use crate::db;
use crate::entities::{sessions, users};
use crate::error::{DomainError, FieldError, Result};
use crate::secret;
use crate::types::{Password, Roles, UserStatus};
use crate::{new_id, now, password, tiers};

/// A new sign-in: the session id (carried by access tokens) and the first refresh token.
pub struct SignIn {
    pub account: Account,
    pub session_id: Uuid,
    pub refresh_token: String,
}

async fn issue_refresh_token<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
    ttl: chrono::Duration,
    t: DateTime<Utc>,
) -> Result<String> {
    let token = secret::generate("rt_")?;
    db::execute(
        db,
        "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
        [
            new_id().into(),
            session_id.into(),
            secret::digest(&token).into(),
            t.into(),
            (t + ttl).into(),
        ],
    )
    .await?;
    Ok(token)
}

/// Refuses a suspended account.
fn require_active(status: UserStatus) -> Result<()> {
    match status {
        UserStatus::Active => Ok(()),
        UserStatus::Suspended => Err(DomainError::AccountSuspended),
        // Nobody signs in as an erased person (its sessions ended with it).
        UserStatus::Erased => Err(DomainError::SessionRevoked),
    }
}

/// Checks email and password. A wrong email and a wrong password give the same
/// answer, in the same time.
pub async fn login(
    db: &DatabaseConnection,
    email: &str,
    pw: &str,
    user_agent: Option<String>,
    refresh_ttl: chrono::Duration,
) -> Result<SignIn> {
    let email = email.trim().to_lowercase();
    let user = if email.is_empty() || email.chars().count() > 254 || pw.len() > 4 * Password::MAX {
        None
    } else {
        users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .one(db)
            .await?
    };
    let ok = password::verify(
        pw.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let user = match user {
        Some(u) if ok => u,
        _ => return Err(DomainError::InvalidCredentials),
    };
    require_active(user.status)?;
    let t = now();
    let session_id = new_id();
    let txn = db::begin_write(db).await?;
    sessions::ActiveModel {
        id: Set(session_id),
        user_id: Set(user.id),
        created_at: Set(t),
        last_used_at: Set(t),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        user_agent: Set(user_agent.map(|s| s.chars().take(256).collect())),
    }
    .insert(&txn)
    .await?;
    finish_sign_in(db, txn, &user, session_id, refresh_ttl, t).await
}

/// Issues the session's next refresh token, commits, and answers with the
/// account as it is now.
async fn finish_sign_in(
    db: &DatabaseConnection,
    txn: sea_orm::DatabaseTransaction,
    user: &users::Model,
    session_id: Uuid,
    refresh_ttl: chrono::Duration,
    t: DateTime<Utc>,
) -> Result<SignIn> {
    let refresh_token = issue_refresh_token(&txn, session_id, refresh_ttl, t).await?;
    txn.commit().await?;
    let tier = tiers::headline_tier(db, user.id).await?;
    Ok(SignIn {
        account: account_of(user, tier)?,
        session_id,
        refresh_token,
    })
}

#[derive(FromQueryResult)]
struct TokenSession {
    session_id: Uuid,
}

#[derive(FromQueryResult)]
struct KnownToken {
    session_id: Uuid,
    user_id: Uuid,
    used_at: Option<DateTime<Utc>>,
}

/// Trades a refresh token for a new one in the same session. A token is good
/// once: presenting a used one revokes the whole session (its login family).
pub async fn refresh(
    db: &DatabaseConnection,
    token: &str,
    refresh_ttl: chrono::Duration,
) -> Result<SignIn> {
    if token.is_empty() || token.len() > 256 {
        return Err(DomainError::InvalidRefreshToken);
    }
    let hash = secret::digest(token);
    let t = now();
    let txn = db::begin_write(db).await?;
    let claimed: Option<TokenSession> = db::fetch_one(
        &txn,
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING session_id",
        [t.into(), hash.clone().into()],
    )
    .await?;
    let Some(TokenSession { session_id }) = claimed else {
        let known: Option<KnownToken> = db::fetch_one(
            &txn,
            "SELECT r.session_id, s.user_id, r.used_at FROM refresh_tokens r \
             JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
            [hash.into()],
        )
        .await?;
        if let Some(KnownToken {
            session_id,
            user_id,
            used_at: Some(_),
        }) = known
        {
            revoke_session(&txn, session_id, "refresh_token_reuse", t).await?;
            txn.commit().await?;
            return Err(DomainError::RefreshTokenReused { user: user_id });
        }
        return Err(DomainError::InvalidRefreshToken);
    };
    let (session, user) = session_with_user(&txn, session_id).await?;
    if session.revoked_at.is_some() {
        return Err(DomainError::SessionRevoked);
    }
    require_active(user.status)?;
    db::execute(
        &txn,
        "UPDATE sessions SET last_used_at = $1 WHERE id = $2",
        [t.into(), session_id.into()],
    )
    .await?;
    finish_sign_in(db, txn, &user, session_id, refresh_ttl, t).await
}

/// A session and its person. A person row the code cannot read is an error,
/// never "no such person".
async fn session_with_user<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
) -> Result<(sessions::Model, users::Model)> {
    let session = sessions::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or(DomainError::SessionRevoked)?;
    let user = super::find_user(db, session.user_id).await?;
    Ok((session, user))
}

#[derive(FromQueryResult)]
struct SessionCheck {
    roles: serde_json::Value,
    status: UserStatus,
    revoked_at: Option<DateTime<Utc>>,
}

/// Resolves the person behind an access token, refusing ended sessions and
/// suspended accounts, with the roles they hold now. A status or role the
/// code does not know is a decode error: such a row signs nobody in.
pub async fn authenticate(
    db: &DatabaseConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<UserCaller> {
    // Hand-written: this runs on every signed-in request.
    let row: SessionCheck = db::fetch_one(
        db,
        "SELECT u.roles, u.status, s.revoked_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2",
        [session_id.into(), user_id.into()],
    )
    .await?
    .ok_or(DomainError::SessionRevoked)?;
    if row.revoked_at.is_some() {
        return Err(DomainError::SessionRevoked);
    }
    require_active(row.status)?;
    Ok(UserCaller {
        id: user_id,
        session_id,
        roles: Roles::decode(&row.roles)?,
    })
}

async fn revoke_session<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
    reason: &str,
    t: DateTime<Utc>,
) -> Result<()> {
    db::execute(
        db,
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
        [t.into(), reason.into(), session_id.into()],
    )
    .await?;
    Ok(())
}

/// Ends every session of a user except `keep`.
pub(super) async fn revoke_sessions_of<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    t: DateTime<Utc>,
) -> Result<()> {
    let keep = keep.unwrap_or(Uuid::nil());
    db::execute(
        db,
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL",
        [t.into(), reason.into(), user_id.into(), keep.into()],
    )
    .await?;
    Ok(())
}

pub async fn logout(db: &DatabaseConnection, me: &UserCaller) -> Result<()> {
    revoke_session(db, me.session_id, "logout", now()).await
}

/// Changes the password and ends every other session of this person.
pub async fn change_password(
    db: &DatabaseConnection,
    me: &UserCaller,
    current: &str,
    new: &str,
) -> Result<()> {
    let new = Password::parse("new_password", new).map_err(|e| DomainError::Validation(vec![e]))?;
    let user = super::find_user(db, me.id).await?;
    if !password::verify(current.to_owned(), Some(user.password_hash.clone())).await? {
        return Err(DomainError::Validation(vec![FieldError::new(
            "current_password",
            "is not your current password",
        )]));
    }
    let hash = password::hash(new.expose().to_owned()).await?;
    let t = now();
    let txn = db::begin_write(db).await?;
    db::execute(
        &txn,
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        [hash.into(), t.into(), me.id.into()],
    )
    .await?;
    revoke_sessions_of(&txn, me.id, Some(me.session_id), "password_changed", t).await?;
    // Taking the account back: an email change or reset link someone else
    // asked for with the old password stops working.
    crate::verification::revoke(
        &txn,
        me.id,
        Some(crate::verification::Purpose::PasswordReset),
    )
    .await?;
    crate::verification::revoke_pending_changes(&txn, me.id).await?;
    txn.commit().await?;
    Ok(())
}

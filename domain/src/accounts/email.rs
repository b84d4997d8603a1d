//! Proving an address: verification of a new account's or a changed
//! address, and password reset by mail. Every mail is written in the
//! transaction that causes it; every token works once and expires.

use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::sessions::revoke_sessions_of;
use super::{Account, find_user, get_account};
use crate::caller::{Actor, UserCaller};
use crate::db::{self, begin_write};
use crate::error::{DomainError, FieldError, Result};
use crate::mail::{self, Links, Mail};
use crate::types::{Email, Password, UserStatus};
use crate::verification::{self, Purpose};
use crate::{audit, now, password};

/// An email change that collided with another account's address.
fn email_taken(e: DbErr) -> DomainError {
    if db::violated_unique_constraint(&e) == Some("ux_users_email") {
        DomainError::EmailTaken
    } else {
        e.into()
    }
}

/// Redeems a verification token: the address it names is the account's,
/// verified (for an email change, the account's address becomes it).
pub async fn verify_email(db: &DatabaseConnection, token: &str) -> Result<Account> {
    let tx = begin_write(db).await?;
    let proof = verification::redeem(&tx, Purpose::VerifyEmail, token).await?;
    let user = find_user(&tx, proof.user_id).await?;
    if user.status == UserStatus::Erased {
        return Err(DomainError::InvalidToken);
    }
    let t = now();
    if user.email == proof.email {
        db::execute(
            &tx,
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2",
            [t.into(), user.id.into()],
        )
        .await?;
    } else {
        if db::exists(
            &tx,
            "SELECT 1 FROM users WHERE email = $1 AND id <> $2",
            [proof.email.clone().into(), user.id.into()],
        )
        .await?
        {
            return Err(DomainError::EmailTaken);
        }
        db::execute(
            &tx,
            "UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3",
            [proof.email.clone().into(), t.into(), user.id.into()],
        )
        .await
        .map_err(email_taken)?;
        audit::record(
            &tx,
            Actor::user(user.id),
            "user.email_change",
            "user",
            Some(user.id.to_string()),
            Some(serde_json::json!({ "email": user.email })),
            Some(serde_json::json!({ "email": proof.email })),
        )
        .await?;
    }
    let account = get_account(&tx, user.id).await?;
    tx.commit().await?;
    Ok(account)
}

/// Mails a new verification link to the caller's address (the previous
/// link stops working). An address already verified is 409.
pub async fn resend_verification(
    db: &DatabaseConnection,
    me: &UserCaller,
    links: &Links,
) -> Result<()> {
    let tx = begin_write(db).await?;
    let user = find_user(&tx, me.id).await?;
    if user.email_verified_at.is_some() {
        return Err(DomainError::AlreadyVerified);
    }
    let token = verification::issue(&tx, user.id, Purpose::VerifyEmail, &user.email).await?;
    let mail = Mail::verify_email(links, &user.email, &user.display_name, &token);
    mail::enqueue(&tx, Some(user.id), &mail).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes a reset mail when `email` is an account's address; does nothing
/// otherwise. The caller answers the same either way.
pub async fn request_password_reset(
    db: &DatabaseConnection,
    email: &str,
    links: &Links,
) -> Result<()> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.chars().count() > 254 {
        return Ok(());
    }
    // Read first: an unknown address costs no write transaction.
    let user: Option<crate::entities::users::Model> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        crate::entities::users::Entity::find()
            .filter(crate::entities::users::Column::Email.eq(email))
            .one(db)
            .await?
    };
    let Some(user) = user.filter(|u| u.status != UserStatus::Erased) else {
        return Ok(());
    };
    let tx = begin_write(db).await?;
    let token = verification::issue(&tx, user.id, Purpose::PasswordReset, &user.email).await?;
    let mail = Mail::password_reset(links, &user.email, &user.display_name, &token);
    mail::enqueue(&tx, Some(user.id), &mail).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password with a reset token and ends every session. The mail
/// reached the address, so the address counts as verified. Returns whose
/// password it was.
pub async fn confirm_password_reset(
    db: &DatabaseConnection,
    token: &str,
    new_password: &str,
) -> Result<Uuid> {
    let new = Password::parse("new_password", new_password)
        .map_err(|e| DomainError::Validation(vec![e]))?;
    // A made-up token costs no hash.
    if !verification::redeemable(db, Purpose::PasswordReset, token).await? {
        return Err(DomainError::InvalidToken);
    }
    // Hashed before the transaction: it takes a while and holds no lock.
    let hash = password::hash(new.expose().to_owned()).await?;
    let tx = begin_write(db).await?;
    let proof = verification::redeem(&tx, Purpose::PasswordReset, token).await?;
    let user = find_user(&tx, proof.user_id).await?;
    if user.email != proof.email || user.status == UserStatus::Erased {
        // The address changed since the mail went out: the link proves nothing now.
        return Err(DomainError::InvalidToken);
    }
    let t = now();
    db::execute(
        &tx,
        "UPDATE users SET password_hash = $1, updated_at = $2, email_verified_at = COALESCE(email_verified_at, $2) \
         WHERE id = $3",
        [hash.into(), t.into(), user.id.into()],
    )
    .await?;
    revoke_sessions_of(&tx, user.id, None, "password_reset", t).await?;
    verification::revoke(&tx, user.id, Some(Purpose::PasswordReset)).await?;
    verification::revoke_pending_changes(&tx, user.id).await?;
    audit::record(
        &tx,
        Actor::user(user.id),
        "user.password_reset",
        "user",
        Some(user.id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(user.id)
}

/// Starts changing the caller's address: a verification link goes to the
/// new address (the change happens when it is followed) and a notice to
/// the old one. Needs the current password.
pub async fn change_email(
    db: &DatabaseConnection,
    me: &UserCaller,
    new_email: &str,
    current_password: &str,
    links: &Links,
) -> Result<()> {
    let new = Email::parse("new_email", new_email).map_err(|e| DomainError::Validation(vec![e]))?;
    let user = find_user(db, me.id).await?;
    if !password::verify(
        current_password.to_owned(),
        Some(user.password_hash.clone()),
    )
    .await?
    {
        return Err(DomainError::Validation(vec![FieldError::new(
            "password",
            "is not your current password",
        )]));
    }
    if new.as_str() == user.email {
        return Err(DomainError::field("new_email", "is already your address"));
    }
    let tx = begin_write(db).await?;
    if db::exists(
        &tx,
        "SELECT 1 FROM users WHERE email = $1",
        [new.as_str().into()],
    )
    .await?
    {
        return Err(DomainError::EmailTaken);
    }
    let token = verification::issue(&tx, user.id, Purpose::VerifyEmail, new.as_str()).await?;
    let verify = Mail::verify_email(links, new.as_str(), &user.display_name, &token);
    mail::enqueue(&tx, Some(user.id), &verify).await?;
    let notice = Mail::email_change_requested(&user.email, &user.display_name, new.as_str());
    mail::enqueue(&tx, Some(user.id), &notice).await?;
    tx.commit().await?;
    Ok(())
}

//! Registration: a checked new account, created with its credits account and
//! its address's verification mail in one transaction; and the CLI's admin
//! creation (whose address the operator vouches for).

use sea_orm::DatabaseConnection;

use super::{Account, account_of, find_user};
use crate::caller::Actor;
use crate::db;
use crate::error::{DomainError, Result};
use crate::mail::{self, Links, Mail};
use crate::types::{DisplayName, Email, Handle, Password, Role, Roles, Tier, Validator};
use crate::verification::{self, Purpose};
use crate::{audit, ledger, new_id, now, password};

/// A checked registration.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub handle: Handle,
    pub display_name: DisplayName,
    pub password: Password,
    pub roles: Roles,
    /// Created verified (an admin made by the operator); otherwise a
    /// verification mail is written with the account.
    pub verified: bool,
}

impl NewAccount {
    /// Checks every field and reports all that are wrong at once.
    pub fn parse(email: &str, password: &str, handle: &str, display_name: &str) -> Result<Self> {
        let mut v = Validator::default();
        let email = v.check(Email::parse("email", email));
        let password = v.check(Password::parse("password", password));
        let handle = v.check(Handle::parse("handle", handle));
        let display_name = v.check(DisplayName::parse("display_name", display_name));
        v.finish_with(|| {
            Some(Self {
                email: email?,
                handle: handle?,
                display_name: display_name?,
                password: password?,
                roles: Roles::talent(),
                verified: false,
            })
        })
    }
}

/// Creates the person, their credits account and (unless created verified)
/// the mail that verifies their address, in one transaction.
pub async fn create_account(
    db: &DatabaseConnection,
    new: NewAccount,
    actor: Actor,
    links: &Links,
) -> Result<Account> {
    let hash = password::hash(new.password.expose().to_owned()).await?;
    let id = new_id();
    let t = now();
    let txn = db::begin_write(db).await?;
    let inserted = db::execute(
        &txn,
        "INSERT INTO users (id, email, handle, display_name, bio, password_hash, roles, status, created_at, updated_at, email_verified_at) \
         VALUES ($1, $2, $3, $4, NULL, $5, $6, 'active', $7, $7, $8) ON CONFLICT DO NOTHING",
        [
            id.into(),
            new.email.as_str().into(),
            new.handle.as_str().into(),
            new.display_name.as_str().into(),
            hash.into(),
            new.roles.to_json().into(),
            t.into(),
            new.verified.then_some(t).into(),
        ],
    )
    .await?;
    if inserted == 0 {
        let email_taken = db::exists(
            &txn,
            "SELECT 1 FROM users WHERE email = $1",
            [new.email.as_str().into()],
        )
        .await?;
        return Err(if email_taken {
            DomainError::EmailTaken
        } else {
            DomainError::HandleTaken
        });
    }
    ledger::open_talent_account(&txn, id, t).await?;
    if !new.verified {
        let token = verification::issue(&txn, id, Purpose::VerifyEmail, new.email.as_str()).await?;
        let mail = Mail::verify_email(links, new.email.as_str(), new.display_name.as_str(), &token);
        mail::enqueue(&txn, Some(id), &mail).await?;
    }
    let account = account_of(&find_user(&txn, id).await?, Tier::ZERO)?;
    if actor.kind != "user" {
        audit::record(
            &txn,
            actor,
            "user.create",
            "user",
            Some(id.to_string()),
            None,
            Some(audit::json(&account)),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(account)
}

/// Used by `kartel admin create`: the first admin, or another one.
pub async fn create_admin(
    db: &DatabaseConnection,
    email: &str,
    pw: &str,
    handle: &str,
    name: &str,
) -> Result<Account> {
    let mut new = NewAccount::parse(email, pw, handle, name)?;
    new.roles = Roles::new(vec![Role::Talent, Role::Admin]);
    new.verified = true;
    // No mail is written for a verified account; the links are not used.
    create_account(db, new, Actor::CLI, &Links::new("")).await
}

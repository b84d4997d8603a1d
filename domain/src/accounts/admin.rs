//! An admin's changes to someone's roles or status (suspension ends their
//! sessions and, as an event the pods react to, their pending
//! nominations), audited with before and after.

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::sessions::revoke_sessions_of;
use super::{Account, account_of, find_user};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::events::{self, Event, StatusChanged};
use crate::policy::{self, Allowed, ManageUsers};
use crate::types::{Role, Roles, UserStatus};
use crate::{audit, now, tiers};

/// A checked change: new roles, a new status, both, or neither (which
/// changes nothing and answers the account as it is).
#[derive(Debug)]
pub struct UserChange {
    pub roles: Option<Roles>,
    pub status: Option<UserStatus>,
}

impl UserChange {
    pub fn new(roles: Option<Vec<Role>>, status: Option<UserStatus>) -> Self {
        Self {
            roles: roles.map(Roles::new),
            status,
        }
    }
}

pub async fn admin_update_user(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageUsers>,
    target: Uuid,
    change: UserChange,
) -> Result<Account> {
    let caller = allowed.caller();
    let UserChange { roles, status } = change;
    if roles.is_none() && status.is_none() {
        return super::get_account(db, target).await;
    }
    policy::may_change_user(caller, target, roles.as_ref(), status)?;
    let t = now();
    let txn = db::begin_write(db).await?;
    // Serialises with an erasure (which takes the same lock).
    tiers::lock_talent(&txn, target).await?;
    let before = find_user(&txn, target).await?;
    if before.status == UserStatus::Erased {
        // An erasure is final: nobody brings the person back.
        return Err(DomainError::NotFound("user"));
    }
    let mut b = SqlBuilder::new("UPDATE users SET updated_at = ");
    let p = b.bind(t);
    b.push(&p);
    if let Some(roles) = &roles {
        // Everyone keeps the talent role: it is what registering gives.
        let mut all = roles.as_slice().to_vec();
        all.push(Role::Talent);
        let p = b.bind(Roles::new(all).to_json());
        b.push(&format!(", roles = {p}"));
    }
    if let Some(status) = status {
        let p = b.bind(status);
        b.push(&format!(", status = {p}"));
    }
    let p = b.bind(target);
    b.push(&format!(" WHERE id = {p}"));
    db::execute(&txn, &b.sql, b.values).await?;
    if status == Some(UserStatus::Suspended) {
        revoke_sessions_of(&txn, target, None, "suspended", t).await?;
    }
    // The pods react to a suspension in this transaction (pending
    // nominations withdrawn); a reactivation is recorded for the outbox.
    let changed = |to| StatusChanged {
        from: before.status,
        to,
    };
    let announced = match status.filter(|s| *s != before.status) {
        Some(to @ UserStatus::Suspended) => Some(Event::UserSuspended(changed(to))),
        Some(to @ UserStatus::Active) => Some(Event::UserReactivated(changed(to))),
        Some(UserStatus::Erased) | None => None,
    };
    if let Some(event) = announced {
        events::record(&txn, target, event).await?;
    }
    let after = find_user(&txn, target).await?;
    let tier = tiers::headline_tier(&txn, target).await?;
    let (before, after) = (account_of(&before, tier)?, account_of(&after, tier)?);
    audit::record(
        &txn,
        caller.actor(),
        "user.update",
        "user",
        Some(target.to_string()),
        Some(audit::json(&before)),
        Some(audit::json(&after)),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

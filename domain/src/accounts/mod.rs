//! People: registration, sign-in sessions with rotating refresh tokens,
//! profiles, staff search, and the admin's changes of roles and status.

mod admin;
mod email;
mod erasure;
mod export;
mod register;
mod search;
mod sessions;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use admin::{UserChange, admin_update_user};
pub use email::{
    change_email, confirm_password_reset, request_password_reset, resend_verification, verify_email,
};
pub use erasure::{Erased, erase_self, erase_user};
pub use export::{PersonalData, SessionRecord, export};
pub use register::{NewAccount, create_account, create_admin};
pub use search::{TalentFilter, TalentProfile, list_talents, talent_profile};
pub use sessions::{SignIn, authenticate, change_password, login, logout, refresh};

use crate::caller::UserCaller;
use crate::db::begin_write;
use crate::db::{self, SqlBuilder};
use crate::entities::users;
use crate::error::{DomainError, Result};
use crate::events::{self, Event, ProfileUpdated};
use crate::now;
use crate::tiers;
use crate::types::{DisplayName, Role, Roles, Text, Tier, Url, UserStatus, Validator};

/// What a person sees of their own account, and what admins see of anyone's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub handle: String,
    pub display_name: String,
    #[schema(required = true)]
    pub bio: Option<String>,
    /// Links to published work (up to 5).
    pub portfolio_links: Vec<String>,
    /// Display name, bio and at least one portfolio link: Tier 1 needs it.
    pub profile_complete: bool,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    /// Whether the address is confirmed (by the link mailed to it). Until
    /// then a talent cannot claim an allowance, submit work, or be
    /// certified or nominated (403 `email_unverified`).
    pub email_verified: bool,
    /// Highest tier over the enrolled tracks; 0 before any enrolment.
    #[schema(value_type = i16, minimum = 0, maximum = 5)]
    pub headline_tier: Tier,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn account_of(u: &users::Model, headline_tier: Tier) -> Result<Account> {
    Ok(Account {
        id: u.id,
        email: u.email.clone(),
        handle: u.handle.clone(),
        display_name: u.display_name.clone(),
        bio: u.bio.clone(),
        portfolio_links: portfolio_links(u),
        profile_complete: tiers::profile_complete(
            &u.display_name,
            u.bio.as_deref(),
            u.portfolio_links.as_ref(),
        ),
        roles: Roles::decode(&u.roles)?.as_slice().to_vec(),
        status: u.status,
        email_verified: u.email_verified_at.is_some(),
        headline_tier,
        created_at: u.created_at,
        updated_at: u.updated_at,
    })
}

async fn find_user<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<users::Model> {
    users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("user"))
}

/// A person's account with their headline tier.
pub async fn get_account<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Account> {
    let user = find_user(db, id).await?;
    account_of(&user, tiers::headline_tier(db, id).await?)
}

/// A user's portfolio links (none when never set).
pub(crate) fn portfolio_links(u: &users::Model) -> Vec<String> {
    u.portfolio_links
        .as_ref()
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default()
}

/// At most this many portfolio links.
pub const MAX_PORTFOLIO_LINKS: usize = 5;

/// Profile fields a person may change about themselves. `bio: Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub display_name: Option<DisplayName>,
    pub bio: Option<Option<Text>>,
    pub portfolio_links: Option<Vec<Url>>,
}

impl ProfileChange {
    pub fn parse(
        display_name: Option<&str>,
        bio: Option<Option<&str>>,
        portfolio_links: Option<&[String]>,
    ) -> Result<Self> {
        let mut v = Validator::default();
        let display_name =
            display_name.and_then(|n| v.check(DisplayName::parse("display_name", n)));
        let bio = bio.map(|b| b.and_then(|b| v.check(Text::parse("bio", b, 0, 1000))));
        let portfolio_links = portfolio_links.map(|links| {
            if links.len() > MAX_PORTFOLIO_LINKS {
                v.push(crate::FieldError::new(
                    "portfolio_links",
                    format!("at most {MAX_PORTFOLIO_LINKS} links"),
                ));
            }
            links
                .iter()
                .enumerate()
                .filter_map(|(i, l)| v.check(Url::parse(&format!("portfolio_links[{i}]"), l)))
                .collect()
        });
        v.finish()?;
        Ok(Self {
            display_name,
            bio,
            portfolio_links,
        })
    }
}

pub async fn update_profile(
    db: &DatabaseConnection,
    me: &UserCaller,
    change: ProfileChange,
) -> Result<Account> {
    let mut b = SqlBuilder::new("UPDATE users SET updated_at = ");
    let t = b.bind(now());
    b.push(&t);
    if let Some(name) = &change.display_name {
        let p = b.bind(name.as_str());
        b.push(&format!(", display_name = {p}"));
    }
    if let Some(bio) = change.bio {
        let p = b.bind(
            bio.filter(|b| !b.as_str().is_empty())
                .map(Text::into_string),
        );
        b.push(&format!(", bio = {p}"));
    }
    if let Some(links) = &change.portfolio_links {
        let links: Vec<&str> = links.iter().map(Url::as_str).collect();
        let p = b.bind(serde_json::json!(links));
        b.push(&format!(", portfolio_links = {p}"));
    }
    let p = b.bind(me.id);
    // Not once erased (a request that authenticated before the erasure).
    b.push(&format!(" WHERE id = {p} AND status <> 'erased'"));
    // The tier code reacts to the change (Tier 1 needs a complete profile)
    // in the same transaction.
    let tx = begin_write(db).await?;
    if db::execute(&tx, &b.sql, b.values).await? == 0 {
        return Err(DomainError::SessionRevoked);
    }
    let account = get_account(&tx, me.id).await?;
    let updated = ProfileUpdated {
        profile_complete: account.profile_complete,
    };
    events::record(&tx, me.id, Event::ProfileUpdated(updated)).await?;
    let account = get_account(&tx, me.id).await?;
    tx.commit().await?;
    Ok(account)
}

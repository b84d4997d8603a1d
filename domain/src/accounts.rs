//! People: registration, sign-in sessions with rotating refresh tokens,
//! profiles, and the admin's changes of roles and status.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::{Actor, UserCaller};
use crate::db::{self, SqlBuilder};
use crate::entities::{sessions, users};
use crate::error::{DomainError, Result};
use crate::page::{self, Page};
use crate::types::{
    DisplayName, Email, Handle, Limit, Password, Role, Roles, Text, UserStatus, Validator,
};
use crate::{audit, ledger, new_id, now, password};

/// What a person sees of their own account, and what admins see of anyone's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub handle: String,
    pub display_name: String,
    pub bio: Option<String>,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    /// Highest tier over the enrolled tracks; 0 before any enrolment.
    pub headline_tier: i16,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A talent's profile. Anyone sees the public part; staff also see email,
/// roles and status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TalentProfile {
    pub id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub bio: Option<String>,
    pub headline_tier: i16,
    pub tracks: Vec<TrackTier>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrackTier {
    pub track: String,
    pub tier: i16,
}

fn account_of(u: &users::Model, headline_tier: i16) -> Account {
    Account {
        id: u.id,
        email: u.email.clone(),
        handle: u.handle.clone(),
        display_name: u.display_name.clone(),
        bio: u.bio.clone(),
        roles: Roles::from_json(&u.roles).as_slice().to_vec(),
        status: UserStatus::from_db(&u.status),
        headline_tier,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// A checked registration.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub handle: Handle,
    pub display_name: DisplayName,
    pub password: Password,
    pub roles: Roles,
}

impl NewAccount {
    /// Checks every field and reports all that are wrong at once.
    pub fn parse(email: &str, password: &str, handle: &str, display_name: &str) -> Result<Self> {
        let mut v = Validator::default();
        let email = v.check(Email::parse("email", email));
        let password = v.check(Password::parse("password", password));
        let handle = v.check(Handle::parse("handle", handle));
        let display_name = v.check(DisplayName::parse("display_name", display_name));
        v.finish()?;
        match (email, password, handle, display_name) {
            (Some(email), Some(password), Some(handle), Some(display_name)) => Ok(Self {
                email,
                handle,
                display_name,
                password,
                roles: Roles::talent(),
            }),
            _ => Err(DomainError::Internal(anyhow::anyhow!(
                "validator passed with a missing field"
            ))),
        }
    }
}

/// Creates the person and their credits account in one transaction.
pub async fn create_account(
    db: &DatabaseConnection,
    new: NewAccount,
    actor: Actor,
) -> Result<Account> {
    let hash = password::hash(new.password.expose().to_owned()).await?;
    let id = new_id();
    let t = now();
    let txn = db::begin_write(db).await?;
    let inserted = db::execute(
        &txn,
        "INSERT INTO users (id, email, handle, display_name, bio, password_hash, roles, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, NULL, $5, $6, 'active', $7, $7) ON CONFLICT DO NOTHING",
        [
            id.into(),
            new.email.as_str().into(),
            new.handle.as_str().into(),
            new.display_name.as_str().into(),
            hash.into(),
            new.roles.to_json().into(),
            t.into(),
        ],
    )
    .await?;
    if inserted == 0 {
        let email_taken = db::query_one(
            &txn,
            "SELECT 1 AS x FROM users WHERE email = $1",
            [new.email.as_str().into()],
        )
        .await?
        .is_some();
        return Err(if email_taken {
            DomainError::EmailTaken
        } else {
            DomainError::HandleTaken
        });
    }
    ledger::open_talent_account(&txn, id, t).await?;
    let user = users::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    let account = account_of(&user, 0);
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

/// A new sign-in: the session id (carried by access tokens) and the first refresh token.
pub struct SignIn {
    pub account: Account,
    pub session_id: Uuid,
    pub refresh_token: String,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_refresh_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("rt_{}", page::encode_bytes(&bytes)))
}

async fn issue_refresh_token<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
    ttl: chrono::Duration,
    t: DateTime<Utc>,
) -> Result<String> {
    let token = new_refresh_token()?;
    db::execute(
        db,
        "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
        [
            new_id().into(),
            session_id.into(),
            token_hash(&token).into(),
            t.into(),
            (t + ttl).into(),
        ],
    )
    .await?;
    Ok(token)
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
    let user = if email.is_empty() || email.len() > 254 || pw.len() > 4 * Password::MAX {
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
    if UserStatus::from_db(&user.status) == UserStatus::Suspended {
        return Err(DomainError::AccountSuspended);
    }
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
    let refresh_token = issue_refresh_token(&txn, session_id, refresh_ttl, t).await?;
    txn.commit().await?;
    let tier = headline_tier(db, user.id).await?;
    Ok(SignIn {
        account: account_of(&user, tier),
        session_id,
        refresh_token,
    })
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
    let hash = token_hash(token);
    let t = now();
    let txn = db::begin_write(db).await?;
    let claimed = db::query_one(
        &txn,
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING session_id",
        [t.into(), hash.clone().into()],
    )
    .await?;
    let Some(row) = claimed else {
        let known = db::query_one(
            &txn,
            "SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = $1",
            [hash.into()],
        )
        .await?;
        if let Some(row) = known {
            let used: Option<DateTime<Utc>> = db::get(&row, "used_at")?;
            if used.is_some() {
                let session_id: Uuid = db::get(&row, "session_id")?;
                revoke_session(&txn, session_id, "refresh_token_reuse", t).await?;
                txn.commit().await?;
                return Err(DomainError::RefreshTokenReused);
            }
        }
        return Err(DomainError::InvalidRefreshToken);
    };
    let session_id: Uuid = db::get(&row, "session_id")?;
    let (session, user) = session_with_user(&txn, session_id).await?;
    if session.revoked_at.is_some() {
        return Err(DomainError::SessionRevoked);
    }
    if UserStatus::from_db(&user.status) == UserStatus::Suspended {
        return Err(DomainError::AccountSuspended);
    }
    db::execute(
        &txn,
        "UPDATE sessions SET last_used_at = $1 WHERE id = $2",
        [t.into(), session_id.into()],
    )
    .await?;
    let refresh_token = issue_refresh_token(&txn, session_id, refresh_ttl, t).await?;
    txn.commit().await?;
    let tier = headline_tier(db, user.id).await?;
    Ok(SignIn {
        account: account_of(&user, tier),
        session_id,
        refresh_token,
    })
}

async fn session_with_user<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
) -> Result<(sessions::Model, users::Model)> {
    match sessions::Entity::find_by_id(session_id)
        .find_also_related(users::Entity)
        .one(db)
        .await?
    {
        Some((s, Some(u))) => Ok((s, u)),
        _ => Err(DomainError::SessionRevoked),
    }
}

/// Resolves the person behind an access token, refusing ended sessions and
/// suspended accounts, with the roles they hold now.
pub async fn authenticate(
    db: &DatabaseConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<UserCaller> {
    // Hand-written: this runs on every signed-in request.
    let row = db::query_one(
        db,
        "SELECT u.roles, u.status, s.revoked_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2",
        [session_id.into(), user_id.into()],
    )
    .await?
    .ok_or(DomainError::SessionRevoked)?;
    let revoked: Option<DateTime<Utc>> = db::get(&row, "revoked_at")?;
    if revoked.is_some() {
        return Err(DomainError::SessionRevoked);
    }
    let status: String = db::get(&row, "status")?;
    if UserStatus::from_db(&status) == UserStatus::Suspended {
        return Err(DomainError::AccountSuspended);
    }
    let roles: serde_json::Value = db::get(&row, "roles")?;
    Ok(UserCaller {
        id: user_id,
        session_id,
        roles: Roles::from_json(&roles),
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
async fn revoke_sessions_of<C: ConnectionTrait>(
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
    let user = users::Entity::find_by_id(me.id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    if !password::verify(current.to_owned(), Some(user.password_hash.clone())).await? {
        return Err(DomainError::Validation(vec![crate::FieldError::new(
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
    txn.commit().await?;
    Ok(())
}

pub async fn get_account(db: &DatabaseConnection, id: Uuid) -> Result<Account> {
    let user = users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    Ok(account_of(&user, headline_tier(db, id).await?))
}

/// Profile fields a person may change about themselves. `bio: Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    pub bio: Option<Option<String>>,
}

pub async fn update_profile(
    db: &DatabaseConnection,
    me: &UserCaller,
    change: ProfileChange,
) -> Result<Account> {
    let mut v = Validator::default();
    let name = change
        .display_name
        .as_deref()
        .map(|n| v.check(DisplayName::parse("display_name", n)));
    let bio = change.bio.as_ref().map(|b| {
        b.as_deref()
            .and_then(|b| v.check(Text::parse("bio", b, 0, 1000)))
    });
    v.finish()?;
    let mut b = SqlBuilder::new("UPDATE users SET updated_at = ");
    let t = b.bind(now());
    b.push(&t);
    if let Some(Some(name)) = name {
        let p = b.bind(name.as_str());
        b.push(&format!(", display_name = {p}"));
    }
    if let Some(bio) = bio {
        let p = b.bind(
            bio.filter(|b| !b.as_str().is_empty())
                .map(Text::into_string),
        );
        b.push(&format!(", bio = {p}"));
    }
    let p = b.bind(me.id);
    b.push(&format!(" WHERE id = {p}"));
    db::execute(db, &b.sql, b.values).await?;
    get_account(db, me.id).await
}

/// An admin's change to someone's roles or status; suspension ends their sessions.
pub async fn admin_update_user(
    db: &DatabaseConnection,
    admin: &UserCaller,
    target: Uuid,
    roles: Option<Roles>,
    status: Option<UserStatus>,
) -> Result<Account> {
    if roles.is_none() && status.is_none() {
        return Err(DomainError::field("roles", "send roles and/or status"));
    }
    if target == admin.id {
        if roles.as_ref().is_some_and(|r| !r.contains(Role::Admin)) {
            return Err(DomainError::InvalidOperation(
                "an admin cannot remove their own admin role",
            ));
        }
        if status == Some(UserStatus::Suspended) {
            return Err(DomainError::InvalidOperation(
                "an admin cannot suspend their own account",
            ));
        }
    }
    let t = now();
    let txn = db::begin_write(db).await?;
    let before = users::Entity::find_by_id(target)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("user"))?;
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
        let p = b.bind(status.as_str());
        b.push(&format!(", status = {p}"));
    }
    let p = b.bind(target);
    b.push(&format!(" WHERE id = {p}"));
    db::execute(&txn, &b.sql, b.values).await?;
    if status == Some(UserStatus::Suspended) {
        revoke_sessions_of(&txn, target, None, "suspended", t).await?;
    }
    let after = users::Entity::find_by_id(target)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    let tier = headline_tier(&txn, target).await?;
    let (before, after) = (account_of(&before, tier), account_of(&after, tier));
    audit::record(
        &txn,
        Actor {
            kind: "user",
            id: Some(admin.id),
        },
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

/// Filters of the staff's talent search.
#[derive(Debug, Default)]
pub struct TalentFilter {
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    pub role: Option<Role>,
    pub track: Option<crate::types::Track>,
    pub tier: Option<i16>,
}

pub async fn list_talents(
    db: &DatabaseConnection,
    filter: &TalentFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Account>> {
    if filter.tier.is_some_and(|t| !(0..=5).contains(&t)) {
        return Err(DomainError::field("tier", "must be between 0 and 5"));
    }
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM users WHERE 1 = 1");
    if let Some(status) = filter.status {
        let p = b.bind(status.as_str());
        b.push(&format!(" AND status = {p}"));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let p = b.bind(db::contains_pattern(q));
        b.push(&format!(
            " AND (LOWER(handle) LIKE {p} ESCAPE '\\' OR LOWER(display_name) LIKE {p} ESCAPE '\\' \
             OR LOWER(email) LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(role) = filter.role {
        let p = b.bind(format!("%\"{}\"%", role.as_str()));
        b.push(&format!(" AND CAST(roles AS TEXT) LIKE {p}"));
    }
    if filter.track.is_some() || filter.tier.is_some() {
        b.push(" AND EXISTS (SELECT 1 FROM talent_tracks tt WHERE tt.talent_id = users.id");
        if let Some(track) = &filter.track {
            let p = b.bind(track.as_str());
            b.push(&format!(" AND tt.track = {p}"));
        }
        if let Some(tier) = filter.tier {
            let p = b.bind(tier);
            b.push(&format!(" AND tt.tier = {p}"));
        }
        b.push(")");
    }
    if let Some(after) = after {
        let p = b.bind(after);
        b.push(&format!(" AND id > {p}"));
    }
    b.push(&format!(" ORDER BY id LIMIT {}", limit.get() + 1));
    let rows = users::Entity::find()
        .from_raw_sql(db::stmt(db, &b.sql, b.values))
        .all(db)
        .await?;
    let tiers = headline_tiers(db, &rows.iter().map(|u| u.id).collect::<Vec<_>>()).await?;
    let accounts = rows
        .iter()
        .map(|u| account_of(u, tiers.get(&u.id).copied().unwrap_or(0)))
        .collect();
    Ok(Page::from_rows(accounts, limit.get(), |a: &Account| {
        a.id.to_string()
    }))
}

/// A talent's profile: public fields for anyone, more for staff. Suspended
/// accounts are hidden from the public.
pub async fn talent_profile(
    db: &DatabaseConnection,
    id: Uuid,
    staff: bool,
) -> Result<TalentProfile> {
    let user = users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("talent"))?;
    let status = UserStatus::from_db(&user.status);
    if !staff && status == UserStatus::Suspended {
        return Err(DomainError::NotFound("talent"));
    }
    let tracks: Vec<TrackTier> = db::query_all(
        db,
        "SELECT track, tier FROM talent_tracks WHERE talent_id = $1 ORDER BY track",
        [id.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(TrackTier {
            track: db::get(r, "track")?,
            tier: db::get(r, "tier")?,
        })
    })
    .collect::<Result<_>>()?;
    let headline_tier = tracks.iter().map(|t| t.tier).max().unwrap_or(0);
    Ok(TalentProfile {
        id: user.id,
        handle: user.handle.clone(),
        display_name: user.display_name.clone(),
        bio: user.bio.clone(),
        headline_tier,
        tracks,
        created_at: user.created_at,
        email: staff.then(|| user.email.clone()),
        roles: staff.then(|| Roles::from_json(&user.roles).as_slice().to_vec()),
        status: staff.then_some(status),
    })
}

/// The highest tier over a talent's tracks; 0 when not enrolled in any.
pub async fn headline_tier<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<i16> {
    Ok(headline_tiers(db, &[talent])
        .await?
        .get(&talent)
        .copied()
        .unwrap_or(0))
}

async fn headline_tiers<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> Result<HashMap<Uuid, i16>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut b = SqlBuilder::new(
        "SELECT talent_id, MAX(tier) AS tier FROM talent_tracks WHERE talent_id IN (",
    );
    let ps: Vec<String> = ids.iter().map(|id| b.bind(*id)).collect();
    b.push(&ps.join(", "));
    b.push(") GROUP BY talent_id");
    let rows = db::query_all(db, &b.sql, b.values).await?;
    rows.iter()
        .map(|r| Ok((db::get::<Uuid>(r, "talent_id")?, db::get::<i16>(r, "tier")?)))
        .collect()
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
    create_account(db, new, Actor::CLI).await
}

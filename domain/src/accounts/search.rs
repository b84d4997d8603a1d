//! Finding people: the staff's talent search and a talent's profile (public
//! fields for anyone, private ones for staff).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Account, account_of};
use crate::caller::Caller;
use crate::challenges::{self, TalentBulkRun};
use crate::db::{self, SqlBuilder};
use crate::entities::users;
use crate::error::{DomainError, Result};
use crate::page::{self, Page};
use crate::policy::{self, Allowed, SearchTalents};
use crate::tiers::{self, TrackTier};
use crate::types::{Limit, Role, Roles, Tier, Track, UserStatus};

/// A talent's profile. Anyone sees the public part; staff also see email,
/// roles and status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TalentProfile {
    pub id: Uuid,
    pub handle: String,
    pub display_name: String,
    #[schema(required = true)]
    pub bio: Option<String>,
    pub portfolio_links: Vec<String>,
    #[schema(value_type = i16, minimum = 0, maximum = 5)]
    pub headline_tier: Tier,
    pub tracks: Vec<TrackTier>,
    /// Reviewed batches and how many met the visual standard, overall and per track.
    pub bulk_run: TalentBulkRun,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    /// Staff only: whether the talent's address is verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// Filters of the staff's talent search.
#[derive(Debug, Default)]
pub struct TalentFilter {
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    pub role: Option<Role>,
    pub track: Option<Track>,
    pub tier: Option<Tier>,
    pub email_verified: Option<bool>,
}

pub async fn list_talents(
    db: &DatabaseConnection,
    _allowed: &Allowed<SearchTalents>,
    filter: &TalentFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Account>> {
    let after: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new("SELECT * FROM users WHERE 1 = 1");
    if let Some(status) = filter.status {
        let p = b.bind(status);
        b.push(&format!(" AND status = {p}"));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let p = b.bind(db::contains_pattern(q));
        b.push(&format!(
            " AND (LOWER(handle) LIKE {p} ESCAPE '\\' OR LOWER(display_name) LIKE {p} ESCAPE '\\' \
             OR LOWER(email) LIKE {p} ESCAPE '\\')"
        ));
    }
    match filter.email_verified {
        Some(true) => {
            b.push(" AND email_verified_at IS NOT NULL");
        }
        Some(false) => {
            b.push(" AND email_verified_at IS NULL");
        }
        None => {}
    }
    if let Some(role) = filter.role {
        let p = b.bind(format!("%\"{}\"%", role.as_str()));
        b.push(&format!(" AND CAST(roles AS TEXT) LIKE {p}"));
    }
    if filter.track.is_some() || filter.tier.is_some() {
        b.push(" AND EXISTS (SELECT 1 FROM talent_tracks tt WHERE tt.talent_id = users.id");
        if let Some(track) = filter.track {
            let p = b.bind(track);
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
    let tiers = tiers::headline_tiers(db, &rows.iter().map(|u| u.id).collect::<Vec<_>>()).await?;
    let accounts = rows
        .iter()
        .map(|u| account_of(u, tiers.get(&u.id).copied().unwrap_or(Tier::ZERO)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(accounts, limit.get(), |a: &Account| {
        a.id.to_string()
    }))
}

/// A talent's profile: public fields for anyone, more for staff. Suspended
/// and erased accounts are hidden from the public.
pub async fn talent_profile(
    db: &DatabaseConnection,
    caller: Option<&Caller>,
    id: Uuid,
) -> Result<TalentProfile> {
    let staff = caller.is_some_and(policy::is_staff);
    let user = users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("talent"))?;
    if !staff && user.status != UserStatus::Active {
        return Err(DomainError::NotFound("talent"));
    }
    let tracks = tiers::track_tiers(db, id).await?;
    let headline_tier = tracks.iter().map(|t| t.tier).max().unwrap_or(Tier::ZERO);
    let roles = if staff {
        Some(Roles::decode(&user.roles)?.as_slice().to_vec())
    } else {
        None
    };
    let portfolio_links = super::portfolio_links(&user);
    Ok(TalentProfile {
        id: user.id,
        handle: user.handle,
        display_name: user.display_name,
        portfolio_links,
        bio: user.bio,
        headline_tier,
        tracks,
        bulk_run: challenges::bulk_run_of_talent(db, id).await?,
        created_at: user.created_at,
        email: staff.then_some(user.email),
        roles,
        status: staff.then_some(user.status),
        email_verified: staff.then_some(user.email_verified_at.is_some()),
    })
}

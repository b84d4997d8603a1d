//! Everything the service holds about a person, as one document (the
//! person's right of access and portability).

use std::future::Future;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Account, get_account};
use crate::caller::{Caller, UserCaller};
use crate::challenges::{self, ReviewView, Submission, SubmissionFilter};
use crate::db;
use crate::error::{DomainError, Result};
use crate::ledger::{self, Balance, CreditTransaction, HistoryFilter, Hold};
use crate::now;
use crate::page::Page;
use crate::pods::{self, Nomination};
use crate::tiers::{self, Certificate, TierChange, TrackTier};
use crate::types::Limit;

/// A sign-in session, as kept.
#[derive(Debug, Serialize, ToSchema, FromQueryResult)]
pub struct SessionRecord {
    pub id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
}

/// The export: the account and everything that hangs off it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalData {
    pub exported_at: DateTime<Utc>,
    pub account: Account,
    /// The tracks enrolled in and the tier in each.
    pub tracks: Vec<TrackTier>,
    pub credits: Balance,
    /// Every credit transaction that touched the account, newest first.
    pub credit_transactions: Vec<CreditTransaction>,
    pub holds: Vec<Hold>,
    pub submissions: Vec<Submission>,
    /// Reviews of the person's submissions (including overturned ones).
    pub reviews_received: Vec<ReviewView>,
    pub tier_history: Vec<TierChange>,
    pub certificates: Vec<Certificate>,
    pub nominations: Vec<Nomination>,
    pub sessions: Vec<SessionRecord>,
}

/// Every page of a paged read, in order.
async fn all<T, F, Fut>(mut page: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(cursor).await?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn max_page() -> Result<Limit> {
    Limit::parse(Some(Limit::MAX as i64)).map_err(|e| DomainError::Validation(vec![e]))
}

/// The caller's own data.
pub async fn export(db: &DatabaseConnection, me: &UserCaller) -> Result<PersonalData> {
    let id = me.id;
    let caller = Caller::User(me.clone());
    let caller = &caller;
    let limit = max_page()?;
    let history = HistoryFilter {
        kind: None,
        from: None,
        to: None,
    };
    let history = &history;
    let credit_transactions =
        all(|c| async move { ledger::history(db, caller, id, history, c.as_deref(), limit).await })
            .await?;
    let holds =
        all(|c| async move { ledger::list_holds(db, caller, id, None, c.as_deref(), limit).await })
            .await?;
    let filter = SubmissionFilter {
        challenge: None,
        talent: Some(id),
        status: None,
    };
    let filter = &filter;
    let submissions = all(|c| async move {
        challenges::list_submissions(db, Some(caller), filter, c.as_deref(), limit).await
    })
    .await?;
    let mut reviews_received = Vec::new();
    for s in &submissions {
        let sid = s.id;
        reviews_received.extend(
            all(|c| async move {
                challenges::list_reviews(db, caller, sid, c.as_deref(), limit).await
            })
            .await?,
        );
    }
    let tier_history =
        all(
            |c| async move { tiers::tier_history(db, caller, id, None, c.as_deref(), limit).await },
        )
        .await?;
    let sessions = db::fetch_all(
        db,
        "SELECT id, created_at, last_used_at, revoked_at, user_agent FROM sessions WHERE user_id = $1 ORDER BY id",
        [id.into()],
    )
    .await?;
    Ok(PersonalData {
        exported_at: now(),
        account: get_account(db, id).await?,
        tracks: tiers::track_tiers(db, id).await?,
        credits: ledger::balance(db, caller, id).await?,
        credit_transactions,
        holds,
        submissions,
        reviews_received,
        tier_history,
        certificates: tiers::certificates_of(db, id).await?,
        nominations: pods::nominations_of(db, id).await?,
        sessions,
    })
}

//! Talent search for staff, public profiles, and a talent's credits for staff.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use kartel_domain::accounts::{self, Account, TalentFilter, TalentProfile};
use kartel_domain::ledger::{self, Balance, CreditTransaction, HistoryFilter, TransactionKind};
use kartel_domain::types::{Role, Track, UserStatus};
use kartel_domain::{Caller, FieldError};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{PageOf, PageQuery};
use crate::error::responses::*;
use crate::error::{ApiError, ApiResult};
use crate::extractors::{CurrentUser, MaybeUser, Staff};
use crate::state::State;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TalentQuery {
    /// Matches handle, display name or email (case-insensitive, substring).
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    pub role: Option<Role>,
    /// Enrolled in this track (with `tier`: at this tier in it).
    pub track: Option<Track>,
    /// At this tier in some track (or in `track`).
    #[param(minimum = 0, maximum = 5)]
    pub tier: Option<i16>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    pub kind: Option<TransactionKind>,
    /// From this time (inclusive), RFC 3339.
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive), RFC 3339.
    pub to: Option<DateTime<Utc>>,
}

impl HistoryQuery {
    pub fn filter(&self) -> ApiResult<HistoryFilter> {
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err(ApiError::validation(vec![FieldError::new(
                "from",
                "must not be after `to`",
            )]));
        }
        Ok(HistoryFilter {
            kind: self.kind,
            from: self.from,
            to: self.to,
        })
    }
}

/// Search and filter talents (staff).
#[utoipa::path(
    tag = "talents",
    operation_id = "list_talents",
    security(("bearer" = [])),
    params(PageQuery, TalentQuery),
    responses(
        (status = 200, body = PageOf<Account>),
        Unauthorized,
        Forbidden,
        Unprocessable,
    )
)]
#[get("/talents")]
pub async fn list_talents(
    st: State,
    _staff: Staff,
    page: web::Query<PageQuery>,
    q: web::Query<TalentQuery>,
) -> ApiResult<HttpResponse> {
    if let Some(t) = q.tier
        && !(0..=5).contains(&t)
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "tier",
            "must be between 0 and 5",
        )]));
    }
    let q = q.into_inner();
    let filter = TalentFilter {
        q: q.q,
        status: q.status,
        role: q.role,
        track: q.track,
        tier: q.tier,
    };
    let page =
        accounts::list_talents(&st.db, &filter, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

/// A talent's profile: public for anyone; staff also see email, roles and status.
#[utoipa::path(
    tag = "talents",
    operation_id = "get_talent",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TalentProfile), NotFound)
)]
#[get("/talents/{id}")]
pub async fn get_talent(
    st: State,
    user: MaybeUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let staff = user.0.as_ref().is_some_and(|u| u.roles.is_staff());
    Ok(HttpResponse::Ok().json(accounts::talent_profile(&st.db, *id, staff).await?))
}

/// A talent's credit balance (staff, or the talent).
#[utoipa::path(
    tag = "credits",
    operation_id = "get_talent_credits",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Balance),
        Unauthorized,
        NotFound,
    )
)]
#[get("/talents/{id}/credits")]
pub async fn get_talent_credits(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::balance(&st.db, &Caller::User(user.0), *id).await?))
}

/// A talent's credit history, newest first (staff, or the talent).
#[utoipa::path(
    tag = "credits",
    operation_id = "list_talent_credit_transactions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery, HistoryQuery),
    responses(
        (status = 200, body = PageOf<CreditTransaction>),
        Unauthorized,
        NotFound,
    )
)]
#[get("/talents/{id}/credits/transactions")]
pub async fn list_talent_credit_transactions(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
    q: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::User(user.0);
    let page = ledger::history(
        &st.db,
        &caller,
        *id,
        &q.filter()?,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

//! Talent search for staff, public profiles, and a talent's credits for staff.

pub mod certify;
pub mod credit_transactions;
pub mod credits;
pub mod demote;
pub mod get;
pub mod holds;
pub mod list;
pub mod lock;
pub mod progress;
pub mod tier_history;

use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use kartel_domain::FieldError;
use kartel_domain::ledger::{HistoryFilter, TransactionKind};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only transactions of this kind.
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

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoldQuery {
    /// Only holds with this status; `pending` is what is reserved now.
    pub status: Option<kartel_domain::ledger::HoldStatus>,
}

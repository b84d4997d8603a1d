//! The monthly allowance per headline tier: data, seeded by the migrations
//! and changed by an admin (audited).

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;
use crate::error::Result;
use crate::policy::{Allowed, SetAllowancePolicy};
use crate::types::{Amount, Tier, Validator};
use crate::{FieldError, audit, now};

/// Allowance amounts per headline tier.
#[derive(Debug, Clone, Serialize, ToSchema, FromQueryResult)]
pub struct AllowancePolicy {
    #[schema(value_type = i16, minimum = 0, maximum = 5)]
    pub tier: Tier,
    pub amount: i64,
}

/// An admin sets the monthly allowance of a tier (0 turns it off).
pub async fn set_allowance(
    db: &DatabaseConnection,
    allowed: &Allowed<SetAllowancePolicy>,
    tier: i64,
    amount: i64,
) -> Result<AllowancePolicy> {
    let mut v = Validator::default();
    let tier = v.check(Tier::parse("tier", tier));
    if !(0..=Amount::MAX).contains(&amount) {
        v.push(FieldError::new(
            "amount",
            format!("must be between 0 and {}", Amount::MAX),
        ));
    }
    let tier = v.finish_with(|| tier)?;
    let txn = db::begin_write(db).await?;
    let before: Option<AllowancePolicy> = db::fetch_one(
        &txn,
        "SELECT tier, amount FROM allowance_policies WHERE tier = $1",
        [tier.into()],
    )
    .await?;
    db::execute(
        &txn,
        "INSERT INTO allowance_policies (tier, amount, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tier) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at",
        [tier.into(), amount.into(), now().into()],
    )
    .await?;
    let policy = AllowancePolicy { tier, amount };
    audit::record(
        &txn,
        allowed.caller().actor(),
        "credits.allowance_policy",
        "tier",
        Some(tier.to_string()),
        before.map(|b| audit::json(&b)),
        Some(audit::json(&policy)),
    )
    .await?;
    txn.commit().await?;
    Ok(policy)
}

pub async fn allowance_policies(db: &DatabaseConnection) -> Result<Vec<AllowancePolicy>> {
    Ok(db::fetch_all(
        db,
        "SELECT tier, amount FROM allowance_policies ORDER BY tier",
        [],
    )
    .await?)
}

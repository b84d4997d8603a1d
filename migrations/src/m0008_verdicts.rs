//! Verdicts that hold: a submission's reward as a small account of its own
//! (`reward_net`: what of the reward the talent holds now; `reward_owed`:
//! what of that is still to be taken back), and each talent's total owed on
//! the ledger account, so that incoming credits collect a debt without
//! another query when nothing is owed.

use std::collections::HashMap;

use sea_orm::prelude::Uuid;
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("submissions")
                .add_column(big_integer("reward_net").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("ledger_accounts")
                .add_column(big_integer("owed").default(0))
                .to_owned(),
        )
        .await?;
        // The debts a talent's incoming credits collect, oldest first.
        m.create_index(
            Index::create()
                .name("ix_submissions_owed")
                .table("submissions")
                .col("talent_id")
                .and_where(Expr::col("reward_owed").gt(0))
                .to_owned(),
        )
        .await?;
        backfill(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_submissions_owed")
                .table("submissions")
                .to_owned(),
        )
        .await?;
        for (table, column) in [("submissions", "reward_net"), ("ledger_accounts", "owed")] {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {column}"))
                .await?;
        }
        Ok(())
    }
}

/// What each submission's talent holds of its reward: its reward payments
/// (`reward:<submission>:<review>`) that nobody reversed. A chain of
/// overturns under the earlier rules could leave more than the reward; the
/// ledger check reports those.
async fn backfill(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = m.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT t.reference, t.amount FROM ledger_transactions t \
             WHERE t.kind = 'reward' AND t.reference LIKE 'reward:%' \
             AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.reverses_id = t.id)",
        ))
        .await?;
    let mut net: HashMap<Uuid, i64> = HashMap::new();
    for row in rows {
        let reference: String = row.try_get("", "reference")?;
        let amount: i64 = row.try_get("", "amount")?;
        let Some(id) = reference
            .strip_prefix("reward:")
            .and_then(|r| r.get(..36))
            .and_then(|r| Uuid::parse_str(r).ok())
        else {
            continue;
        };
        *net.entry(id).or_default() += amount;
    }
    for (id, amount) in net {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE submissions SET reward_net = $1 WHERE id = $2",
            [amount.into(), id.into()],
        ))
        .await?;
    }
    db.execute_unprepared(
        "UPDATE ledger_accounts SET owed = (SELECT COALESCE(SUM(s.reward_owed), 0) FROM submissions s \
         WHERE s.talent_id = ledger_accounts.talent_id) WHERE kind = 'talent'",
    )
    .await?;
    Ok(())
}

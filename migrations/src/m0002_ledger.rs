//! The credits ledger: accounts with cached balances, append-only transactions
//! and entries, holds, idempotency keys and the allowance policy per tier.

use sea_orm_migration::{prelude::*, schema::*};

use sea_orm_migration::sea_orm::prelude::{DateTimeUtc, Uuid};

use crate::m0001_accounts::{index, unique_index};

/// Fixed ids of the system accounts; `kartel-domain` names the same ids.
pub const SYSTEM_ACCOUNTS: [(&str, &str); 4] = [
    ("00000000-0000-7000-8000-000000000001", "system:grants"),
    ("00000000-0000-7000-8000-000000000002", "system:allowances"),
    ("00000000-0000-7000-8000-000000000003", "system:rewards"),
    ("00000000-0000-7000-8000-000000000004", "system:generation"),
];

/// Default monthly allowance per headline tier (tier 0: registered, not yet enrolled).
const DEFAULT_ALLOWANCES: [(i32, i64); 6] =
    [(0, 50), (1, 100), (2, 200), (3, 400), (4, 800), (5, 1500)];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("ledger_accounts")
                .col(pk_uuid("id"))
                .col(string_len("kind", 16))
                .col(string_len("code", 64))
                .col(uuid_null("talent_id"))
                .col(big_integer("posted").default(0))
                .col(big_integer("held").default(0))
                .col(big_integer("version").default(0))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("ledger_accounts", "talent_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique_index(m, "ux_ledger_accounts_code", "ledger_accounts", &["code"]).await?;
        if m.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            // Balance rows are updated all the time: room in each page lets
            // PostgreSQL update them in place (HOT), without index churn.
            m.get_connection()
                .execute_unprepared("ALTER TABLE ledger_accounts SET (fillfactor = 50)")
                .await?;
        }
        unique_index(
            m,
            "ux_ledger_accounts_talent",
            "ledger_accounts",
            &["talent_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("ledger_transactions")
                .col(pk_uuid("id"))
                .col(string_len("kind", 16))
                .col(uuid("talent_id"))
                .col(big_integer("amount"))
                .col(text("memo"))
                .col(string_len_null("reference", 128))
                .col(uuid_null("reverses_id"))
                .col(uuid_null("hold_id"))
                .col(string_len("actor_kind", 16))
                .col(uuid_null("actor_id"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        // A reward or an allowance period is paid once; a transaction is reversed
        // once; a hold is captured once. The database enforces each. The indexes
        // are partial, so the many transactions without one add no index entry.
        unique_where_set(
            m,
            "ux_ledger_tx_reference",
            "ledger_transactions",
            "reference",
        )
        .await?;
        unique_where_set(
            m,
            "ux_ledger_tx_reverses",
            "ledger_transactions",
            "reverses_id",
        )
        .await?;
        unique_where_set(m, "ux_ledger_tx_hold", "ledger_transactions", "hold_id").await?;

        // No foreign key to ledger_accounts: its check would share-lock the
        // system account rows that every spend touches (the reconciliation
        // checks that every entry's account exists instead).
        m.create_table(
            Table::create()
                .table("ledger_entries")
                .col(uuid("transaction_id"))
                .col(uuid("account_id"))
                .col(big_integer("amount"))
                .col(big_integer_null("account_version"))
                .col(big_integer_null("balance_after"))
                .col(timestamp_with_time_zone("created_at"))
                // A transaction moves each account at most once.
                .primary_key(Index::create().col("transaction_id").col("account_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("ledger_entries", "transaction_id")
                        .to("ledger_transactions", "id"),
                )
                .to_owned(),
        )
        .await?;
        // Talent entries only: one per account version, so no gaps or repeats.
        m.create_index(
            Index::create()
                .name("ux_ledger_entries_account_version")
                .table("ledger_entries")
                .col("account_id")
                .col("account_version")
                .unique()
                .and_where(Expr::col("account_version").is_not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("credit_holds")
                .col(pk_uuid("id"))
                .col(uuid("talent_id"))
                .col(uuid("account_id"))
                .col(big_integer("amount"))
                .col(text("purpose"))
                .col(string_len("status", 16))
                .col(big_integer_null("captured_amount"))
                .col(uuid_null("capture_transaction_id"))
                .col(string_len("actor_kind", 16))
                .col(uuid_null("actor_id"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_credit_holds_status_expiry",
            "credit_holds",
            &["status", "expires_at"],
        )
        .await?;
        index(
            m,
            "ix_credit_holds_talent",
            "credit_holds",
            &["talent_id", "status"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(string_len("scope", 64))
                .col(string_len("key", 255))
                .col(string_len("operation", 32))
                .col(string_len("request_hash", 64))
                .col(string_len("outcome", 16))
                .col(json_null("response"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("scope").col("key"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("allowance_policies")
                .col(small_integer("tier").primary_key())
                .col(big_integer("amount"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        let now = "2026-01-01T00:00:00Z";
        let mut accounts = Query::insert();
        accounts.into_table("ledger_accounts").columns([
            "id",
            "kind",
            "code",
            "posted",
            "held",
            "version",
            "created_at",
        ]);
        for (id, code) in SYSTEM_ACCOUNTS {
            let id = Uuid::parse_str(id).map_err(|e| DbErr::Custom(e.to_string()))?;
            accounts.values_panic([
                id.into(),
                "system".into(),
                code.into(),
                0i64.into(),
                0i64.into(),
                0i64.into(),
                chrono_now(now)?.into(),
            ]);
        }
        m.exec_stmt(accounts).await?;

        let mut policies = Query::insert();
        policies
            .into_table("allowance_policies")
            .columns(["tier", "amount", "updated_at"]);
        for (tier, amount) in DEFAULT_ALLOWANCES {
            policies.values_panic([(tier as i16).into(), amount.into(), chrono_now(now)?.into()]);
        }
        m.exec_stmt(policies).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "allowance_policies",
            "idempotency_keys",
            "credit_holds",
            "ledger_entries",
            "ledger_transactions",
            "ledger_accounts",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

async fn unique_where_set(
    m: &SchemaManager<'_>,
    name: &'static str,
    table: &'static str,
    col: &'static str,
) -> Result<(), DbErr> {
    m.create_index(
        Index::create()
            .name(name)
            .table(table)
            .col(col)
            .unique()
            .and_where(Expr::col(col).is_not_null())
            .to_owned(),
    )
    .await
}

fn chrono_now(s: &str) -> Result<DateTimeUtc, DbErr> {
    s.parse::<DateTimeUtc>()
        .map_err(|e| DbErr::Custom(e.to_string()))
}

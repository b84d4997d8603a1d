//! Mail that is never lost (an outbox the job sends from), verified email
//! addresses, single-use account tokens (email verification, password
//! reset), and erasure.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Accounts that existed before verification start unverified (they
        // verify through `verify-email/resend`); no account is trusted unseen.
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(timestamp_with_time_zone_null("email_verified_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(timestamp_with_time_zone_null("erased_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("mail_outbox")
                .col(pk_uuid("id"))
                // Whose mail it is (erasure deletes it); null for none.
                .col(uuid_null("user_id"))
                .col(string_len("kind", 32))
                .col(string_len("to_address", 254))
                .col(string_len("subject", 200))
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                // A sender's lease: while it runs, no other sender takes the message.
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(uuid_null("lock_id"))
                .col(timestamp_with_time_zone_null("sent_at"))
                // A permanent refusal by the mail server: never tried again.
                .col(timestamp_with_time_zone_null("failed_at"))
                .col(text_null("last_error"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_mail_outbox_user", "mail_outbox", &["user_id"]).await?;
        m.create_index(
            Index::create()
                .name("ix_mail_outbox_due")
                .table("mail_outbox")
                .col("next_attempt_at")
                .and_where(Expr::col("sent_at").is_null())
                .and_where(Expr::col("failed_at").is_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("account_tokens")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                // `verify_email` or `password_reset`.
                .col(string_len("purpose", 16))
                .col(string_len("token_hash", 64))
                // The address the token proves (a new one, for an email change).
                .col(string_len("email", 254))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("account_tokens", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_account_tokens_hash")
                .table("account_tokens")
                .col("token_hash")
                .unique()
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_account_tokens_user",
            "account_tokens",
            &["user_id", "purpose"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["account_tokens", "mail_outbox"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        for c in ["erased_at", "email_verified_at"] {
            // Plain SQL: both PostgreSQL and SQLite (3.35+) drop a column so.
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE users DROP COLUMN {c}"))
                .await?;
        }
        Ok(())
    }
}

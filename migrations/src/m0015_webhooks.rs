//! Webhooks: the endpoints admins register, the dispatcher's cursor over
//! the events' positions, one message per event sent out (its thin body,
//! signed at each attempt), one delivery per message and endpoint (leased
//! by a worker of any instance, retried on a schedule), and every attempt
//! with what the receiver answered.

use sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(from: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("webhook_endpoints")
                .col(pk_uuid("id"))
                .col(text("url"))
                .col(text("description"))
                // The kinds it receives (a JSON array of names); empty: all.
                .col(json("event_types"))
                .col(boolean("disabled").default(false))
                // `admin`, `gone` (it answered 410) or `failing` (every
                // attempt failed for days).
                .col(string_len_null("disabled_reason", 16))
                .col(timestamp_with_time_zone_null("disabled_at"))
                // The raw signing secrets (`whsec_…`): HMAC needs them.
                .col(text("secret"))
                .col(text_null("previous_secret"))
                .col(timestamp_with_time_zone_null("previous_secret_until"))
                // The first failed attempt since the last success.
                .col(timestamp_with_time_zone_null("failing_since"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        // One row: the position up to which events were dispatched.
        m.create_table(
            Table::create()
                .table("webhook_dispatch")
                .col(integer("id").primary_key())
                .col(big_integer("position"))
                .to_owned(),
        )
        .await?;
        // Starts at the head: what happened before webhooks existed is not
        // sent (an endpoint's `recover` reaches back when asked).
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO webhook_dispatch (id, position) \
                 SELECT 1, COALESCE(MAX(position), 0) FROM events",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("webhook_messages")
                // The event's id (`webhook-id`); a test message's own.
                .col(pk_uuid("id"))
                .col(big_integer_null("position"))
                .col(string_len("event_type", 64))
                // The JSON body exactly as sent and signed.
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_webhook_messages_created",
            "webhook_messages",
            &["created_at"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(pk_uuid("id"))
                .col(uuid("message_id"))
                .col(uuid("endpoint_id"))
                // `pending`, `delivered` or `failed`.
                .col(string_len("status", 16))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                // A worker's lease: while it runs, no other worker sends it.
                .col(timestamp_with_time_zone_null("leased_until"))
                .col(uuid_null("lease_id"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut cascade(
                    "webhook_deliveries",
                    "message_id",
                    "webhook_messages",
                ))
                .foreign_key(&mut cascade(
                    "webhook_deliveries",
                    "endpoint_id",
                    "webhook_endpoints",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_webhook_deliveries_message_endpoint")
                .table("webhook_deliveries")
                .col("message_id")
                .col("endpoint_id")
                .unique()
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_webhook_deliveries_endpoint",
            "webhook_deliveries",
            &["endpoint_id", "status"],
        )
        .await?;
        // A worker reads back what its lease took by the lease's id.
        index(
            m,
            "ix_webhook_deliveries_lease",
            "webhook_deliveries",
            &["lease_id"],
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_due")
                .table("webhook_deliveries")
                .col("next_attempt_at")
                .and_where(Expr::col("status").eq("pending"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_attempts")
                .col(pk_uuid("id"))
                .col(uuid("delivery_id"))
                .col(uuid("endpoint_id"))
                .col(uuid("message_id"))
                .col(timestamp_with_time_zone("attempted_at"))
                // Null when no answer came (refused address, timeout…).
                .col(integer_null("status_code"))
                .col(integer("latency_ms"))
                // The answer's first 4 KiB.
                .col(text("response"))
                .col(text_null("error"))
                .col(boolean("succeeded"))
                .foreign_key(&mut cascade(
                    "webhook_attempts",
                    "delivery_id",
                    "webhook_deliveries",
                ))
                .foreign_key(&mut cascade(
                    "webhook_attempts",
                    "endpoint_id",
                    "webhook_endpoints",
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_webhook_attempts_endpoint",
            "webhook_attempts",
            &["endpoint_id", "id"],
        )
        .await?;
        index(
            m,
            "ix_webhook_attempts_delivery",
            "webhook_attempts",
            &["delivery_id"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "webhook_attempts",
            "webhook_deliveries",
            "webhook_messages",
            "webhook_dispatch",
            "webhook_endpoints",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

//! Stream tickets: single-use credentials, valid for a minute, that a
//! browser's `EventSource` (which cannot send headers) presents as
//! `?ticket=` to open the live stream as the session that asked for them.
//! Stored as SHA-256 digests; redeemed with one guarded update.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("stream_tickets")
                .col(pk_uuid("id"))
                .col(string_len("token_hash", 64))
                .col(uuid("user_id"))
                .col(uuid("session_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("stream_tickets", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_stream_tickets_hash")
                .table("stream_tickets")
                .col("token_hash")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_stream_tickets_expires")
                .table("stream_tickets")
                .col("expires_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("stream_tickets").to_owned())
            .await
    }
}

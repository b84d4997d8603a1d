//! Idempotency keys are kept for a retention window; this index lets the
//! sweeper find the old ones without scanning the table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_idempotency_keys_created")
                .table("idempotency_keys")
                .col("created_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_idempotency_keys_created")
                .table("idempotency_keys")
                .to_owned(),
        )
        .await
    }
}

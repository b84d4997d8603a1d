//! The pipeline follows the people and the evidence: a certificate can be
//! re-issued on other evidence (the new one waits for the API's key to
//! sign it, and the old one names its successor), and the dashboard's
//! attention list of talents an admin must look at (a Tier 5 whose
//! certificate lost its evidence).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // What a certificate issued inside a transaction without the key
        // attests (holder's name, track, playbook, challenge, score), until
        // the API signs it; null once signed (and for every earlier one).
        m.alter_table(
            Table::alter()
                .table("certificates")
                .add_column(json_null("pending_attestation"))
                .to_owned(),
        )
        .await?;
        // The certificate re-issued in this one's place (its evidence fell
        // and other evidence stood).
        m.alter_table(
            Table::alter()
                .table("certificates")
                .add_column(uuid_null("replaced_by"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_certificates_pending")
                .table("certificates")
                .col("issued_at")
                .and_where(Expr::col("pending_attestation").is_not_null())
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_certificates_submission",
            "certificates",
            &["submission_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("talent_attention")
                .col(pk_uuid("id"))
                .col(uuid("talent_id"))
                .col(string_len("track", 32))
                // Why an admin should look: `evidence_overturned`.
                .col(string_len("reason", 32))
                // The overturned submission and the certificate that cites it.
                .col(uuid_null("submission_id"))
                .col(uuid_null("certificate_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("cleared_at"))
                // `certificate_revoked`, `evidence_accepted`, `evidence_replaced`, `account_erased`.
                .col(string_len_null("cleared_reason", 32))
                .foreign_key(
                    ForeignKey::create()
                        .from("talent_attention", "talent_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // At most one open entry per talent, track and reason.
        m.create_index(
            Index::create()
                .name("ux_talent_attention_open")
                .table("talent_attention")
                .col("talent_id")
                .col("track")
                .col("reason")
                .unique()
                .and_where(Expr::col("cleared_at").is_null())
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_talent_attention_created",
            "talent_attention",
            &["created_at"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("talent_attention").to_owned())
            .await?;
        for i in ["ix_certificates_submission", "ix_certificates_pending"] {
            m.drop_index(Index::drop().name(i).table("certificates").to_owned())
                .await?;
        }
        for c in ["replaced_by", "pending_attestation"] {
            // Plain SQL: both PostgreSQL and SQLite (3.35+) drop a column so.
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE certificates DROP COLUMN {c}"))
                .await?;
        }
        Ok(())
    }
}

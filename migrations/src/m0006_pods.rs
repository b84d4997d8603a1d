//! Pods with their role slots and client engagements, nominations (the
//! Tier 4 → 5 handoff), and the yearly targets the dashboard measures.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("pods")
                .col(pk_uuid("id"))
                .col(string_len("name", 120))
                .col(string_len("status", 16))
                .col(integer("client_capacity"))
                // Engagements not ended: a guarded counter (< capacity).
                .col(integer("active_engagements"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("pod_slots")
                .col(pk_uuid("id"))
                .col(uuid("pod_id"))
                .col(string_len("track", 32))
                .col(string_len("status", 16))
                .col(uuid_null("talent_id"))
                .col(timestamp_with_time_zone_null("filled_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("pod_slots", "pod_id")
                        .to("pods", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_pod_slots_pod", "pod_slots", &["pod_id"]).await?;
        index(
            m,
            "ix_pod_slots_status_track",
            "pod_slots",
            &["status", "track"],
        )
        .await?;
        // A talent fills at most one slot.
        m.create_index(
            Index::create()
                .name("ux_pod_slots_talent")
                .table("pod_slots")
                .col("talent_id")
                .unique()
                .and_where(Expr::col("talent_id").is_not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("engagements")
                .col(pk_uuid("id"))
                .col(uuid("pod_id"))
                .col(string_len("client_name", 200))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("engagements", "pod_id")
                        .to("pods", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_engagements_pod",
            "engagements",
            &["pod_id", "started_at"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("nominations")
                .col(pk_uuid("id"))
                .col(uuid("talent_id"))
                .col(string_len("track", 32))
                .col(uuid_null("slot_id"))
                .col(text("note"))
                .col(string_len("status", 16))
                .col(uuid("nominated_by"))
                .col(uuid_null("decided_by"))
                .col(text_null("decision_reason"))
                .col(uuid_null("placed_slot_id"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("nominations", "talent_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_nominations_status",
            "nominations",
            &["status", "created_at"],
        )
        .await?;
        // One pending nomination per talent and track.
        m.create_index(
            Index::create()
                .name("ux_nominations_pending")
                .table("nominations")
                .col("talent_id")
                .col("track")
                .unique()
                .and_where(Expr::col("status").eq("pending"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("yearly_targets")
                .col(integer("year").primary_key())
                .col(integer("tier5_target"))
                .col(json_null("quarterly"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "yearly_targets",
            "nominations",
            "engagements",
            "pod_slots",
            "pods",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

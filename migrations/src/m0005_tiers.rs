//! Tiers 1–4: the tracks with their playbooks and demotion grace, the tier
//! requirements (data, seeded with defaults), the per-talent lock and grace
//! clock, the tier history, certificates, requirement re-evaluations, and
//! the profile's portfolio links (part of a complete profile).

use sea_orm_migration::sea_orm::prelude::DateTimeUtc;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TRACKS: [(&str, &str); 5] = [
    ("workflow_engineer", "Workflow engineer"),
    ("ai_generalist", "AI generalist"),
    ("preditor", "Preditor"),
    ("data_lora_specialist", "Data/LoRA specialist"),
    ("data_engineer", "Data engineer"),
];

/// Per track: Tier 1 a complete profile; Tier 2 three passed challenges of
/// any track; Tier 3 three passed challenges of the track, five reviewed
/// batches and a bulk-run success rate of at least 0.8.
const DEFAULT_REQUIREMENTS: [(i16, &str, f64); 5] = [
    (1, "profile_complete", 1.0),
    (2, "passed_challenges", 3.0),
    (3, "passed_track_challenges", 3.0),
    (3, "reviewed_batches", 5.0),
    (3, "bulk_run_success_rate", 0.8),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one change per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(json_null("portfolio_links"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("talent_tracks")
                .add_column(boolean("locked").default(false))
                .to_owned(),
        )
        .await?;
        // Since when the talent's tier no longer meets its requirements (the
        // grace period runs from here); null while it does.
        m.alter_table(
            Table::alter()
                .table("talent_tracks")
                .add_column(timestamp_with_time_zone_null("below_since"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_talent_tracks_track_tier",
            "talent_tracks",
            &["track", "tier", "talent_id"],
        )
        .await?;
        index(
            m,
            "ix_talent_tracks_below",
            "talent_tracks",
            &["below_since"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tracks")
                .col(string_len("track", 32).primary_key())
                .col(string_len("name", 80))
                .col(integer("grace_days"))
                .col(string_len_null("playbook_title", 200))
                .col(string_len_null("playbook_url", 2048))
                .col(string_len_null("playbook_version", 32))
                .col(string_len_null("playbook_status", 16))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tier_requirements")
                .col(string_len("track", 32))
                .col(small_integer("tier"))
                .col(string_len("key", 40))
                .col(double("target"))
                .primary_key(Index::create().col("track").col("tier").col("key"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tier_changes")
                .col(pk_uuid("id"))
                .col(uuid("talent_id"))
                .col(string_len("track", 32))
                .col(small_integer("from_tier"))
                .col(small_integer("to_tier"))
                .col(string_len("actor_kind", 16))
                .col(uuid_null("actor_id"))
                .col(text("reason"))
                .col(json("evidence"))
                .col(uuid_null("certificate_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("tier_changes", "talent_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_tier_changes_talent",
            "tier_changes",
            &["talent_id", "id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("certificates")
                .col(pk_uuid("id"))
                .col(uuid("talent_id"))
                .col(string_len("track", 32))
                .col(small_integer("tier"))
                .col(string_len("status", 16))
                .col(string_len("playbook_version", 32))
                .col(uuid("certified_by"))
                .col(uuid("submission_id"))
                .col(uuid("review_id"))
                .col(string_len("kid", 64))
                .col(text("credential"))
                .col(timestamp_with_time_zone("issued_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(text_null("revoked_reason"))
                .foreign_key(
                    ForeignKey::create()
                        .from("certificates", "talent_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // At most one valid certificate per talent and track.
        m.create_index(
            Index::create()
                .name("ux_certificates_valid")
                .table("certificates")
                .col("talent_id")
                .col("track")
                .unique()
                .and_where(Expr::col("status").eq("valid"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tier_reevaluations")
                .col(pk_uuid("id"))
                .col(string_len("track", 32))
                .col(string_len("status", 16))
                .col(uuid_null("after_talent"))
                .col(big_integer("evaluated"))
                .col(big_integer("moved"))
                .col(uuid_null("requested_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_tier_reevaluations_status",
            "tier_reevaluations",
            &["status"],
        )
        .await?;

        let now = "2026-01-01T00:00:00Z"
            .parse::<DateTimeUtc>()
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let mut tracks = Query::insert();
        tracks
            .into_table("tracks")
            .columns(["track", "name", "grace_days", "updated_at"]);
        let mut reqs = Query::insert();
        reqs.into_table("tier_requirements")
            .columns(["track", "tier", "key", "target"]);
        for (track, name) in TRACKS {
            tracks.values_panic([track.into(), name.into(), 14.into(), now.into()]);
            for (tier, key, target) in DEFAULT_REQUIREMENTS {
                reqs.values_panic([track.into(), tier.into(), key.into(), target.into()]);
            }
        }
        m.exec_stmt(tracks).await?;
        m.exec_stmt(reqs).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "tier_reevaluations",
            "certificates",
            "tier_changes",
            "tier_requirements",
            "tracks",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

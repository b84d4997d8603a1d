//! Challenges with versioned rubrics, submissions (with their asset URLs for
//! copied-work checks and a per-talent entry counter), reviews, and the
//! events outbox that review decisions and transitions write.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::{index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("challenges")
                .col(pk_uuid("id"))
                .col(string_len("title", 200))
                .col(text("brief"))
                .col(string_len_null("track", 32))
                .col(small_integer("min_tier"))
                .col(small_integer("max_tier"))
                .col(timestamp_with_time_zone("opens_at"))
                .col(timestamp_with_time_zone("closes_at"))
                .col(timestamp_with_time_zone("review_due_at"))
                .col(integer("max_submissions_per_talent"))
                .col(big_integer("reward"))
                .col(json("prizes"))
                .col(json("reference_assets"))
                .col(string_len_null("certifies_track", 32))
                .col(integer("rubric_version"))
                .col(string_len("status", 16))
                .col(text_null("cancel_reason"))
                .col(uuid("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_challenges_status_closes",
            "challenges",
            &["status", "closes_at"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("rubric_versions")
                .col(uuid("challenge_id"))
                .col(integer("version"))
                .col(json("criteria"))
                .col(double("pass_mark"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("challenge_id").col("version"))
                .foreign_key(
                    ForeignKey::create()
                        .from("rubric_versions", "challenge_id")
                        .to("challenges", "id"),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("submissions")
                .col(pk_uuid("id"))
                .col(uuid("challenge_id"))
                .col(uuid("talent_id"))
                .col(json("assets"))
                .col(text("prompt"))
                .col(json("workflow"))
                .col(integer("batch_size"))
                .col(string_len("status", 16))
                .col(boolean("copy_flagged").default(false))
                .col(double_null("score"))
                .col(integer_null("outputs_meeting_standard"))
                .col(uuid_null("review_id"))
                .col(uuid_null("reward_transaction_id"))
                .col(big_integer("reward_owed").default(0))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("submissions", "challenge_id")
                        .to("challenges", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("submissions", "talent_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_submissions_challenge",
            "submissions",
            &["challenge_id", "status", "score"],
        )
        .await?;
        index(
            m,
            "ix_submissions_talent",
            "submissions",
            &["talent_id", "challenge_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("submission_assets")
                .col(uuid("challenge_id"))
                .col(string_len("url", 2048))
                .col(uuid("submission_id"))
                .col(uuid("talent_id"))
                .primary_key(Index::create().col("submission_id").col("url"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_submission_assets_url",
            "submission_assets",
            &["challenge_id", "url"],
        )
        .await?;

        // How many live (not withdrawn) submissions a talent has in a
        // challenge: raised by one guarded UPDATE, so the limit holds under
        // concurrent submissions.
        m.create_table(
            Table::create()
                .table("challenge_entries")
                .col(uuid("challenge_id"))
                .col(uuid("talent_id"))
                .col(integer("live"))
                .primary_key(Index::create().col("challenge_id").col("talent_id"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("reviews")
                .col(pk_uuid("id"))
                .col(uuid("submission_id"))
                .col(uuid("challenge_id"))
                .col(uuid("talent_id"))
                .col(uuid("reviewer_id"))
                .col(integer("rubric_version"))
                .col(json("scores"))
                .col(double("total"))
                .col(string_len("decision", 16))
                .col(integer("outputs_meeting_standard"))
                .col(text("feedback"))
                .col(uuid_null("overturns_id"))
                .col(uuid_null("reward_transaction_id"))
                .col(uuid_null("reversal_transaction_id"))
                .col(big_integer("reward_owed").default(0))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("reviews", "submission_id")
                        .to("submissions", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_reviews_submission",
            "reviews",
            &["submission_id", "created_at"],
        )
        .await?;
        unique_index(m, "ux_reviews_overturns", "reviews", &["overturns_id"]).await?;

        m.create_table(
            Table::create()
                .table("events")
                .col(pk_uuid("id"))
                .col(string_len("type", 64))
                .col(string_len("subject_type", 32))
                .col(uuid("subject_id"))
                .col(json("payload"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_events_subject", "events", &["subject_id"]).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "events",
            "reviews",
            "challenge_entries",
            "submission_assets",
            "submissions",
            "rubric_versions",
            "challenges",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

//! Appeals: after a submission's decision its talent may appeal one rubric
//! criterion at a time, within the challenge's `appeal_window_hours`; the
//! appealed reviewer answers within `appeal_response_hours`, then any other
//! manager. An appeal keeps the criterion's score before and after.

use sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("challenges")
                .add_column(
                    integer("appeal_window_hours")
                        .default(48)
                        .check(Expr::col("appeal_window_hours").between(0, 720)),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("challenges")
                .add_column(
                    integer("appeal_response_hours")
                        .default(24)
                        .check(Expr::col("appeal_response_hours").between(1, 720)),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("appeals")
                .col(uuid("id").primary_key())
                .col(uuid("submission_id"))
                .col(uuid("challenge_id"))
                // The rubric criterion's key (in the appealed review's version).
                .col(string_len("criterion", 40))
                .col(uuid("appellant_id"))
                // The review appealed (a seat's current review when filed).
                .col(uuid("review_id"))
                .col(uuid("reviewer_id"))
                .col(text("reason"))
                // `open`, `upheld` or `denied`.
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone("filed_at"))
                .col(timestamp_with_time_zone("respond_by"))
                .col(uuid_null("answered_by"))
                .col(timestamp_with_time_zone_null("answered_at"))
                .col(text_null("response"))
                .col(double("initial_score"))
                .col(double_null("final_score"))
                // The review an upheld appeal's re-score wrote.
                .col(uuid_null("rescore_review_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("appeals", "submission_id")
                        .to("submissions", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_appeals_submission_criterion")
                .table("appeals")
                .col("submission_id")
                .col("criterion")
                .unique()
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_appeals_challenge_status",
            "appeals",
            &["challenge_id", "status"],
        )
        .await?;
        index(m, "ix_appeals_reviewer", "appeals", &["reviewer_id"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("appeals").to_owned())
            .await?;
        for column in ["appeal_response_hours", "appeal_window_hours"] {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE challenges DROP COLUMN {column}"))
                .await?;
        }
        Ok(())
    }
}

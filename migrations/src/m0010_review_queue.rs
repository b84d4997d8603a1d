//! The review queue: a submission under review has review seats (one per
//! review it needs: regular seats when its challenge enters judging, a
//! tiebreak seat when its reviewers disagree), each claimable with a lease
//! and filled by one current review. Reviews say which seat they filled;
//! a challenge keeps the secret key its blind aliases are made with; and
//! the conflict-of-interest look-ups (who nominated or certified a talent)
//! get their indexes.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_accounts::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("review_seats")
                .col(uuid("submission_id"))
                // 1, 2, 3 for the regular seats; the tiebreak seat after them.
                .col(small_integer("seat"))
                // Copied from the submission and its challenge (neither
                // changes once judging starts), so the queue is one table.
                .col(uuid("challenge_id"))
                .col(uuid("talent_id"))
                .col(string_len_null("track", 32))
                // `regular` or `tiebreak`.
                .col(string_len("kind", 16))
                // `open` (needs a review), `filled`, `void` (no longer needed).
                .col(string_len("state", 16))
                // The queue's order: the oldest submission first.
                .col(timestamp_with_time_zone("submitted_at"))
                // The live claim, if any: who holds the seat until when.
                .col(uuid_null("claim_id"))
                .col(uuid_null("claimed_by"))
                .col(timestamp_with_time_zone_null("claimed_at"))
                .col(timestamp_with_time_zone_null("lease_expires_at"))
                // The seat's current review and its reviewer.
                .col(uuid_null("review_id"))
                .col(uuid_null("reviewer_id"))
                .col(timestamp_with_time_zone("opened_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("submission_id").col("seat"))
                .foreign_key(
                    ForeignKey::create()
                        .from("review_seats", "submission_id")
                        .to("submissions", "id"),
                )
                .to_owned(),
        )
        .await?;
        // The queue, whole and per challenge or track: open seats only.
        for (name, first) in [
            ("ix_review_seats_queue", None),
            ("ix_review_seats_challenge_queue", Some("challenge_id")),
            ("ix_review_seats_track_queue", Some("track")),
        ] {
            let mut idx = Index::create();
            idx.name(name).table("review_seats");
            if let Some(c) = first {
                idx.col(c);
            }
            idx.col("submitted_at")
                .col("submission_id")
                .col("seat")
                .and_where(Expr::col("state").eq("open"));
            m.create_index(idx.to_owned()).await?;
        }
        m.create_index(
            Index::create()
                .name("ux_review_seats_claim")
                .table("review_seats")
                .col("claim_id")
                .unique()
                .and_where(Expr::col("claim_id").is_not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_review_seats_leases")
                .table("review_seats")
                .col("lease_expires_at")
                .and_where(Expr::col("claim_id").is_not_null())
                .to_owned(),
        )
        .await?;

        m.alter_table(
            Table::alter()
                .table("reviews")
                .add_column(small_integer_null("seat"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("challenges")
                .add_column(string_len_null("blind_key", 64))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_nominations_nominator",
            "nominations",
            &["nominated_by", "talent_id"],
        )
        .await?;
        index(
            m,
            "ix_certificates_certifier",
            "certificates",
            &["certified_by", "talent_id"],
        )
        .await?;
        backfill(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_certificates_certifier")
                .table("certificates")
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_nominations_nominator")
                .table("nominations")
                .to_owned(),
        )
        .await?;
        for (table, column) in [("challenges", "blind_key"), ("reviews", "seat")] {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {column}"))
                .await?;
        }
        m.drop_table(Table::drop().table("review_seats").to_owned())
            .await
    }
}

/// Every challenge gets its secret alias key; every review so far filled
/// seat 1 (there was one review per submission at a time); every live
/// submission of a challenge already judging gets its seat, filled by its
/// current review or open in the queue.
async fn backfill(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let random_key = match m.get_database_backend() {
        DbBackend::Postgres => {
            "replace(CAST(gen_random_uuid() AS TEXT) || CAST(gen_random_uuid() AS TEXT), '-', '')"
        }
        _ => "lower(hex(randomblob(32)))",
    };
    db.execute_unprepared(&format!("UPDATE challenges SET blind_key = {random_key}"))
        .await?;
    db.execute_unprepared("UPDATE reviews SET seat = 1").await?;
    db.execute_unprepared(
        "INSERT INTO review_seats (submission_id, seat, challenge_id, talent_id, track, kind, state, \
         submitted_at, review_id, reviewer_id, opened_at, updated_at) \
         SELECT s.id, 1, s.challenge_id, s.talent_id, c.track, 'regular', \
         CASE WHEN s.review_id IS NULL THEN 'open' ELSE 'filled' END, \
         s.created_at, s.review_id, r.reviewer_id, c.updated_at, c.updated_at \
         FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
         LEFT JOIN reviews r ON r.id = s.review_id \
         WHERE c.status = 'judging' AND s.status <> 'withdrawn'",
    )
    .await?;
    Ok(())
}

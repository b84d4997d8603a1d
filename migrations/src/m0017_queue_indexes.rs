//! Indexes the review queue's conflict checks need: a claim skips work the
//! caller already holds another seat of (`review_seats.claimed_by`, only
//! rows under a claim) and work they already reviewed (`reviews` by
//! reviewer). Without them PostgreSQL read every seat and every review on
//! each claim (claimbench: 500–900 ms a claim over 500,000 reviews).

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_review_seats_claimed_by ON review_seats (claimed_by, submission_id) \
             WHERE claimed_by IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_reviews_reviewer ON reviews (reviewer_id, submission_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX ix_reviews_reviewer")
            .await?;
        db.execute_unprepared("DROP INDEX ix_review_seats_claimed_by")
            .await?;
        Ok(())
    }
}

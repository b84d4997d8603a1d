//! More than one reviewer: a challenge says how many regular reviews each
//! submission gets (1–3) and how far apart two reviewers' weighted totals
//! may be before a tiebreak review is needed (points of the 0–100 weighted
//! total, like the pass mark: 15 by default, 15 % of the maximum). Every
//! challenge so far had one reviewer per submission.

use sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("challenges")
                .add_column(
                    small_integer("reviewers_per_submission")
                        .default(1)
                        .check(Expr::col("reviewers_per_submission").between(1, 3)),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("challenges")
                .add_column(
                    double("disagreement_threshold")
                        .default(15.0)
                        .check(Expr::col("disagreement_threshold").between(0.0, 100.0)),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["disagreement_threshold", "reviewers_per_submission"] {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE challenges DROP COLUMN {column}"))
                .await?;
        }
        Ok(())
    }
}

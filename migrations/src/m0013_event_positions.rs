//! Event positions: each event gets a place in one total order (`position`,
//! 1, 2, 3…) after it commits, from the sequencer (`events::sequence`), so
//! that a reader going forward by position (webhooks, the live stream, the
//! pull API) never skips an event whose transaction committed late. Rows
//! still waiting for a place are found by a partial index.

use sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("events")
                .add_column(big_integer_null("position"))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared("CREATE UNIQUE INDEX ux_events_position ON events (position)")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_events_unpositioned ON events (created_at, id) WHERE position IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX ix_events_unpositioned")
            .await?;
        db.execute_unprepared("DROP INDEX ux_events_position")
            .await?;
        db.execute_unprepared("ALTER TABLE events DROP COLUMN position")
            .await?;
        Ok(())
    }
}

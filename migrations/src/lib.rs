//! Database schema for the Kartel platform, for PostgreSQL and SQLite alike.
//! Depends on nothing of ours; `kartel migrate` and start-up apply it.

pub use sea_orm_migration::prelude::*;

mod m0001_accounts;
mod m0002_ledger;
mod m0003_idempotency_retention;
mod m0004_challenges;
mod m0005_tiers;
mod m0006_pods;
mod m0007_mail;
mod m0008_verdicts;
mod m0009_pipeline;
mod m0010_review_queue;
mod m0011_review_panel;
mod m0012_appeals;
mod m0013_event_positions;
mod m0014_status_lists;
mod m0015_webhooks;
mod m0016_stream;
mod m0017_queue_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_accounts::Migration),
            Box::new(m0002_ledger::Migration),
            Box::new(m0003_idempotency_retention::Migration),
            Box::new(m0004_challenges::Migration),
            Box::new(m0005_tiers::Migration),
            Box::new(m0006_pods::Migration),
            Box::new(m0007_mail::Migration),
            Box::new(m0008_verdicts::Migration),
            Box::new(m0009_pipeline::Migration),
            Box::new(m0010_review_queue::Migration),
            Box::new(m0011_review_panel::Migration),
            Box::new(m0012_appeals::Migration),
            Box::new(m0013_event_positions::Migration),
            Box::new(m0014_status_lists::Migration),
            Box::new(m0017_queue_indexes::Migration),
            Box::new(m0016_stream::Migration),
            Box::new(m0015_webhooks::Migration),
        ]
    }
}

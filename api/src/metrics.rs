//! Prometheus metrics beyond actix-web-prom's per-route counts and latency
//! histogram: the database pool's size and idle connections, and how many
//! rounds the background loops completed.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use sea_orm::{DatabaseConnection, DbBackend};

pub struct PoolCollector {
    db: DatabaseConnection,
    size: IntGauge,
    idle: IntGauge,
}

impl PoolCollector {
    pub fn new(db: DatabaseConnection) -> prometheus::Result<Self> {
        Ok(Self {
            db,
            size: IntGauge::with_opts(Opts::new(
                "kartel_db_pool_connections",
                "Open database connections",
            ))?,
            idle: IntGauge::with_opts(Opts::new(
                "kartel_db_pool_idle_connections",
                "Idle database connections",
            ))?,
        })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.size
            .desc()
            .into_iter()
            .chain(self.idle.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let (size, idle) = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle())
            }
            _ => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle())
            }
        };
        self.size.set(i64::from(size));
        self.idle.set(idle as i64);
        self.size
            .collect()
            .into_iter()
            .chain(self.idle.collect())
            .collect()
    }
}

/// Rounds the background loops of this instance completed: a flat line is a
/// stalled loop (for operators), and a rise proves that a round ran after
/// some moment (for tests that assert what a job did not do).
#[derive(Clone)]
pub struct Runs {
    /// `kartel_job_sweeps_total`: rounds of the jobs (holds, clock, tiers…).
    pub job_sweeps: IntCounter,
    /// `kartel_mailer_polls_total`: looks at the outbox by the mailer.
    pub mailer_polls: IntCounter,
    /// `kartel_events_position`: the highest event position this instance
    /// has seen (its sequencer's last look); behind the others' while its
    /// loop is stalled.
    pub events_position: IntGauge,
    /// `kartel_webhook_worker_polls_total`: looks for due deliveries by
    /// this instance's delivery worker.
    pub webhook_polls: IntCounter,
    /// `kartel_webhook_attempts_total{outcome}`: delivery attempts this
    /// instance made, by outcome (`delivered`, `retry`, `failed`).
    pub webhook_attempts: IntCounterVec,
}

impl Runs {
    pub fn new() -> prometheus::Result<Self> {
        Ok(Self {
            job_sweeps: IntCounter::new(
                "kartel_job_sweeps_total",
                "Completed rounds of the background jobs",
            )?,
            mailer_polls: IntCounter::new(
                "kartel_mailer_polls_total",
                "Completed looks at the mail outbox",
            )?,
            events_position: IntGauge::new(
                "kartel_events_position",
                "The highest event position this instance has seen",
            )?,
            webhook_polls: IntCounter::new(
                "kartel_webhook_worker_polls_total",
                "Completed looks for due webhook deliveries",
            )?,
            webhook_attempts: IntCounterVec::new(
                Opts::new(
                    "kartel_webhook_attempts_total",
                    "Webhook delivery attempts by outcome",
                ),
                &["outcome"],
            )?,
        })
    }

    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.job_sweeps.clone()))?;
        registry.register(Box::new(self.mailer_polls.clone()))?;
        registry.register(Box::new(self.webhook_polls.clone()))?;
        registry.register(Box::new(self.webhook_attempts.clone()))?;
        registry.register(Box::new(self.events_position.clone()))
    }
}

/// `kartel_events_undecodable_total`: stored events this process could not
/// decode (an unknown kind, or a payload that does not fit its kind). Each
/// is also logged, and is an error to whoever read it: never skipped.
pub struct EventsCollector {
    undecodable: IntCounter,
}

impl EventsCollector {
    pub fn new() -> prometheus::Result<Self> {
        Ok(Self {
            undecodable: IntCounter::new(
                "kartel_events_undecodable_total",
                "Stored events that did not decode",
            )?,
        })
    }
}

impl Collector for EventsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.undecodable.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.undecodable.reset();
        self.undecodable
            .inc_by(kartel_domain::events::undecodable_total());
        self.undecodable.collect()
    }
}

//! Prometheus metrics beyond actix-web-prom's per-route counts and latency
//! histogram: the database pool's size and idle connections.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts};
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

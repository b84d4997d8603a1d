//! The review figures (`GET /reviews/metrics`), cached per instance and per
//! filter as the dashboard is, for `KARTEL_DASHBOARD_CACHE_SECONDS`: their
//! aggregates scan every filled seat the filter selects. Concurrent readers
//! of an expired entry do not run it again: one reader recomputes while the
//! others get the previous figures; the first readers of a filter wait for
//! its first computation. `generated_at` says how old the figures are. 0
//! turns the cache off.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kartel_domain::challenges::{self, MetricsFilter, ReviewMetrics};
use kartel_domain::policy::{Allowed, ViewReviewMetrics};
use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

/// Filters kept at most; past it, the expired ones go (and, if none has,
/// all of them).
const MAX_ENTRIES: usize = 1_000;

type Entry = (Instant, Arc<ReviewMetrics>);

pub struct ReviewMetricsCache {
    ttl: Duration,
    entries: RwLock<HashMap<MetricsFilter, Entry>>,
    /// Held by the one reader that recomputes.
    refresh: Mutex<()>,
}

impl ReviewMetricsCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            refresh: Mutex::new(()),
        }
    }

    fn read(&self, f: &MetricsFilter) -> Option<Entry> {
        self.entries.read().ok()?.get(f).cloned()
    }

    fn fresh(&self, f: &MetricsFilter) -> Option<Arc<ReviewMetrics>> {
        self.read(f)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, m)| m)
    }

    fn keep(&self, f: &MetricsFilter, m: Arc<ReviewMetrics>) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(f.clone(), (Instant::now(), m));
    }

    /// The figures for `f`: fresh from the cache; or, once expired,
    /// recomputed by one reader while the others get the previous ones.
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        allowed: &Allowed<ViewReviewMetrics>,
        f: &MetricsFilter,
    ) -> kartel_domain::error::Result<Arc<ReviewMetrics>> {
        if self.ttl.is_zero() {
            return Ok(Arc::new(challenges::review_metrics(db, allowed, f).await?));
        }
        if let Some(m) = self.fresh(f) {
            return Ok(m);
        }
        let _guard = match self.refresh.try_lock() {
            Ok(g) => g,
            Err(_) => {
                if let Some((_, stale)) = self.read(f) {
                    return Ok(stale);
                }
                self.refresh.lock().await
            }
        };
        if let Some(m) = self.fresh(f) {
            return Ok(m);
        }
        let m = Arc::new(challenges::review_metrics(db, allowed, f).await?);
        self.keep(f, m.clone());
        Ok(m)
    }
}

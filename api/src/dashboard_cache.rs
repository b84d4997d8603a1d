//! The talent-engine dashboard, computed at most once per
//! `KARTEL_DASHBOARD_CACHE_SECONDS` per instance: its aggregate queries
//! read every talent, pod and reviewed submission, and leadership does not
//! need them fresher than that. Concurrent readers of an expired figure
//! do not run it again: one reader recomputes while the others get the
//! previous figures. `generated_at` in the document says how old it is. 0 turns the
//! cache off.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kartel_domain::pods::{self, Dashboard};
use kartel_domain::policy::{Allowed, ViewTalentEngine};
use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

type Cached = Option<(Instant, Arc<Dashboard>)>;

pub struct DashboardCache {
    ttl: Duration,
    value: RwLock<Cached>,
    /// Held by the one reader that recomputes an expired figure.
    refresh: Mutex<()>,
}

impl DashboardCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            value: RwLock::new(None),
            refresh: Mutex::new(()),
        }
    }

    fn read(&self) -> Cached {
        self.value.read().map(|v| v.clone()).unwrap_or(None)
    }

    fn fresh(&self) -> Option<Arc<Dashboard>> {
        self.read()
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, d)| d)
    }

    /// The figures: fresh from the cache; or, once expired, recomputed by one
    /// reader while the others get the previous figures (stale while
    /// revalidating); the very first readers wait for the first computation.
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        allowed: &Allowed<ViewTalentEngine>,
    ) -> kartel_domain::error::Result<Arc<Dashboard>> {
        if self.ttl.is_zero() {
            return Ok(Arc::new(pods::talent_engine(db, allowed).await?));
        }
        if let Some(d) = self.fresh() {
            return Ok(d);
        }
        let _guard = match self.refresh.try_lock() {
            Ok(g) => g,
            Err(_) => {
                if let Some((_, stale)) = self.read() {
                    return Ok(stale);
                }
                self.refresh.lock().await
            }
        };
        if let Some(d) = self.fresh() {
            return Ok(d);
        }
        let d = Arc::new(pods::talent_engine(db, allowed).await?);
        if let Ok(mut v) = self.value.write() {
            *v = Some((Instant::now(), d.clone()));
        }
        Ok(d)
    }
}

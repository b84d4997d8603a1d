//! What every handler shares: the database, keys, settings, rate limiter.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;

use crate::configuration::Settings;
use crate::ratelimit::RateLimiter;
use crate::signing_keys::SigningKeys;

pub struct AppState {
    pub db: DatabaseConnection,
    pub keys: SigningKeys,
    pub settings: Settings,
    pub limiter: RateLimiter,
    pub redis: Option<ConnectionManager>,
    pub key_cache: crate::key_cache::KeyCache,
    pub sessions: crate::session_cache::SessionCache,
    pub leaderboards: crate::leaderboards::Leaderboards,
    pub dashboard: crate::dashboard_cache::DashboardCache,
    pub review_metrics: crate::review_metrics_cache::ReviewMetricsCache,
    pub mailer: Arc<crate::mailer::Mailer>,
    /// The webhook dispatcher and delivery worker (poked after an admin
    /// queued messages).
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    pub public_cache: crate::response_cache::ResponseCache,
    /// Rounds of the background loops, shown on `/metrics`.
    pub runs: crate::metrics::Runs,
    /// The highest event position this instance has seen (the sequencer's).
    pub events_head: Arc<crate::sequencer::EventsHead>,
    /// The live stream's reader of new events and their fan-out.
    pub stream: Arc<crate::stream::Hub>,
    /// Where links in mails point.
    pub links: kartel_domain::mail::Links,
}

pub type State = actix_web::web::Data<AppState>;

impl AppState {
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }
}

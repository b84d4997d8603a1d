//! The Kartel API: actix-web service, configuration, telemetry and the CLI's
//! building blocks. Business rules live in `kartel-domain`.

pub mod cli;
pub mod configuration;
pub mod dashboard_cache;
pub mod error;
pub mod extractors;
pub mod jobs;
pub mod key_cache;
pub mod leaderboards;
pub mod mailer;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod response_cache;
pub mod review_metrics_cache;
pub mod routes;
pub mod sequencer;
pub mod session_cache;
pub mod signing_keys;
pub mod startup;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod webhooks;

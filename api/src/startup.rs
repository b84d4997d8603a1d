//! The application as a value: `Application::build(settings)` connects,
//! migrates and binds; `run_until_stopped()` serves until SIGINT/SIGTERM and
//! finishes in-flight requests. `main` and every test start it the same way.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServiceResponse};
use actix_web::error::PathError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use kartel_migrations::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

use crate::configuration::Settings;
use crate::error::ApiError;
use crate::key_cache::KeyCache;
use crate::leaderboards::Leaderboards;
use crate::metrics::{EventsCollector, PoolCollector};
use crate::openapi::{self, ApiDoc};
use crate::ratelimit::RateLimiter;
use crate::routes;
use crate::signing_keys::SigningKeys;
use crate::state::AppState;
use crate::{extractors, jobs, middleware};

pub struct Application {
    port: u16,
    server: Server,
    state: Arc<AppState>,
}

/// Connects to the configured database, creating the SQLite file's folder.
pub async fn connect_database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = settings.sqlite_path()
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    kartel_domain::db::connect(
        settings.database_url.expose(),
        settings.database_max_connections,
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot connect to DATABASE_URL: {e}"))
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if let Some(threads) = settings.password_hash_threads {
            kartel_domain::password::configure(threads);
        }
        let db = connect_database(&settings).await?;
        if settings.migrate_on_start {
            Migrator::up(&db, None)
                .await
                .map_err(|e| anyhow::anyhow!("applying migrations failed: {e}"))?;
        }
        let redis = match &settings.redis_url {
            None => None,
            Some(url) => {
                let client = redis::Client::open(url.expose())
                    .map_err(|e| anyhow::anyhow!("invalid setting REDIS_URL: {e}"))?;
                // Redis is the fast layer: while it is down, a command gives up
                // within half a second (rate limits fail open, leaderboards
                // read the database) instead of waiting out a reconnect backoff.
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_response_timeout(Some(Duration::from_millis(500)))
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                let conn = tokio::time::timeout(
                    Duration::from_secs(10),
                    redis::aio::ConnectionManager::new_with_config(client.clone(), config),
                )
                .await
                .map_err(|_| anyhow::anyhow!("cannot connect to REDIS_URL: timed out"))?
                .map_err(|e| anyhow::anyhow!("cannot connect to REDIS_URL: {e}"))?;
                Some((client, conn))
            }
        };
        let link = redis
            .clone()
            .map(|(client, conn)| crate::session_cache::RedisLink {
                client,
                conn,
                prefix: settings.redis_prefix.clone(),
            });
        let redis = redis.map(|(_, conn)| conn);
        let limiter = match &redis {
            Some(conn) => RateLimiter::Redis {
                conn: conn.clone(),
                prefix: settings.redis_prefix.clone(),
            },
            None => RateLimiter::memory(),
        };
        let leaderboards = match &redis {
            Some(conn) => Leaderboards::Redis {
                conn: conn.clone(),
                prefix: settings.redis_prefix.clone(),
            },
            None => Leaderboards::memory(),
        };
        let keys = SigningKeys::load(&settings)?;
        let listener = TcpListener::bind(settings.addr).map_err(|e| {
            anyhow::anyhow!(
                "invalid setting KARTEL_ADDR: cannot listen on {}: {e}",
                settings.addr
            )
        })?;
        let port = listener.local_addr()?.port();
        let keys = keys.serving_at(listener.local_addr()?);
        let dashboard = crate::dashboard_cache::DashboardCache::new(Duration::from_secs(
            settings.dashboard_cache_seconds,
        ));
        let review_metrics = crate::review_metrics_cache::ReviewMetricsCache::new(
            Duration::from_secs(settings.dashboard_cache_seconds),
        );
        let key_cache = KeyCache::new(Duration::from_secs(settings.api_key_cache_seconds));
        let sessions = crate::session_cache::SessionCache::new(
            Duration::from_secs(settings.session_cache_seconds),
            link,
        )?;
        sessions.started().await;
        let runs = crate::metrics::Runs::new()?;
        let mailer = Arc::new(crate::mailer::Mailer::new(
            &settings,
            db.clone(),
            runs.mailer_polls.clone(),
        )?);
        let webhooks = Arc::new(crate::webhooks::Webhooks::new(
            &settings,
            db.clone(),
            runs.webhook_polls.clone(),
            runs.webhook_attempts.clone(),
        )?);
        let links = kartel_domain::mail::Links::new(&settings.public_url);
        let public_cache = crate::response_cache::ResponseCache::new(Duration::from_millis(
            settings.public_cache_millis,
        ));
        // Streams go on from the outbox's head as it is now, read before
        // the first one can open.
        let head = kartel_domain::events::head(&db)
            .await
            .map_err(|e| anyhow::anyhow!("reading the events' head failed: {e}"))?;
        let stream = Arc::new(crate::stream::Hub::new(head)?);
        let state = Arc::new(AppState {
            stream,
            runs,
            public_cache,
            mailer,
            webhooks,
            links,
            events_head: Arc::new(crate::sequencer::EventsHead::new()),
            db,
            keys,
            settings,
            limiter,
            redis,
            key_cache,
            sessions,
            leaderboards,
            dashboard,
            review_metrics,
        });
        let server = serve(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> DatabaseConnection {
        self.state.db.clone()
    }

    /// Stops the server (tests stop each app they start).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves, with the background jobs running, until stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let jobs = jobs::spawn(self.state.clone());
        let sequencer = crate::sequencer::spawn(
            self.state.db.clone(),
            Duration::from_millis(self.state.settings.event_sequence_millis),
            self.state.events_head.clone(),
            self.state.runs.events_position.clone(),
        );
        let hub = crate::stream::spawn(
            self.state.db.clone(),
            self.state.events_head.clone(),
            self.state.stream.clone(),
        );
        let mailer = crate::mailer::spawn(self.state.mailer.clone());
        let hooks = self.state.settings.webhook_workers.then(|| {
            (
                crate::webhooks::spawn_dispatcher(
                    self.state.webhooks.clone(),
                    self.state.events_head.subscribe(),
                ),
                crate::webhooks::spawn_worker(self.state.webhooks.clone()),
            )
        });
        let result = self.server.await;
        jobs.abort();
        sequencer.abort();
        hub.abort();
        if let Some((dispatcher, worker)) = hooks {
            dispatcher.abort();
            // Deliveries in flight end within their timeout and are recorded.
            self.state.webhooks.stop();
            if tokio::time::timeout(Duration::from_secs(30), worker)
                .await
                .is_err()
            {
                tracing::warn!("the webhook worker did not stop in time");
            }
        }
        // The mailer finishes the message in hand (a hand-off the server
        // accepted is marked sent) and stops.
        self.state.mailer.stop();
        if tokio::time::timeout(Duration::from_secs(30), mailer)
            .await
            .is_err()
        {
            tracing::warn!("the mailer did not stop in time");
        }
        result
    }
}

/// The OpenAPI document of the whole API.
pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope::scope("/api/v1").configure(routes::api_v1))
        .configure(routes::root)
        .split_for_parts();
    openapi::finish(doc)
}

fn metrics(state: &Arc<AppState>) -> anyhow::Result<PrometheusMetrics> {
    let registry = prometheus::Registry::new();
    registry.register(Box::new(PoolCollector::new(state.db.clone())?))?;
    registry.register(Box::new(EventsCollector::new()?))?;
    state.runs.register(&registry)?;
    for counter in [
        &state.sessions.hits,
        &state.sessions.misses,
        &state.sessions.marks_failed,
    ] {
        registry.register(Box::new(counter.clone()))?;
    }
    registry.register(Box::new(state.sessions.on.clone()))?;
    registry.register(Box::new(state.stream.open.clone()))?;
    PrometheusMetricsBuilder::new("kartel")
        .endpoint("/metrics")
        .registry(registry)
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("metrics: {e}"))
}

fn serve(listener: TcpListener, state: Arc<AppState>) -> anyhow::Result<Server> {
    let doc = openapi_doc();
    let routes = Arc::new(RouteTable::from_doc(&doc));
    let prometheus = metrics(&state)?;
    let data = web::Data::from(state.clone());
    let max_body = state.settings.max_body_bytes;
    let origins: Vec<String> = state
        .settings
        .cors_origins()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut server = HttpServer::new(move || {
        let routes = routes.clone();
        let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
        let (app, _) = App::new()
            .into_utoipa_app()
            .app_data(data.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(max_body)
                    .error_handler(|e, _| extractors::json_payload_error(e).into()),
            )
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(web::PathConfig::default().error_handler(|e, _| path_error(e).into()))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| extractors::query_error(&e).into()),
            )
            .service(scope::scope("/api/v1").configure(routes::api_v1))
            .configure(routes::root)
            .split_for_parts();
        app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc.clone()))
            .service(web::redirect("/docs", "/docs/"))
            .default_service(web::to(move |req: HttpRequest| {
                let routes = routes.clone();
                async move { routes.unmatched(&req) }
            }))
            .wrap(ErrorHandlers::new().default_handler(problem_for_plain_errors))
            .wrap(from_fn(middleware::edge))
            .wrap(TracingLogger::default())
            .wrap(middleware::cors(&origins))
            .wrap(prometheus.clone())
    })
    .listen(listener)?
    .shutdown_timeout(state.settings.shutdown_timeout_seconds);
    if let Some(w) = state.settings.workers {
        server = server.workers(w);
    }
    Ok(server.run())
}

/// Turns any error response that is not problem+json yet (actix's own 404,
/// 405, 413…) into one.
fn problem_for_plain_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems and JSON bodies (e.g. `/readyz`'s 503 report) are already
    // what the client should read; only actix's plain-text errors are turned
    // into problems.
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/problem+json") || v.starts_with("application/json")
        });
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal_error",
        _ => "bad_request",
    };
    let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
    let (req, _) = res.into_parts();
    let out = ApiError::new(status, code, detail).error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, out).map_into_right_body(),
    ))
}

fn path_error(_: PathError) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such resource (the id in the path is malformed)",
    )
}

/// The documented paths and their methods, to tell "no such path" (404) from
/// "not with this method" (405).
struct RouteTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl RouteTable {
    fn from_doc(doc: &utoipa::openapi::OpenApi) -> Self {
        let rows = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segs = path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_owned)
                    .collect();
                let mut methods = Vec::new();
                for (m, op) in [
                    ("GET", &item.get),
                    ("HEAD", &item.get),
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                ] {
                    if op.is_some() {
                        methods.push(m);
                    }
                }
                (segs, methods)
            })
            .collect();
        Self(rows)
    }

    fn unmatched(&self, req: &HttpRequest) -> HttpResponse {
        let segs: Vec<&str> = req.path().trim_matches('/').split('/').collect();
        let allowed: Vec<&str> = self
            .0
            .iter()
            .filter(|(pattern, _)| {
                pattern.len() == segs.len()
                    && pattern
                        .iter()
                        .zip(&segs)
                        .all(|(p, s)| p.starts_with('{') || p == s)
            })
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        if allowed.is_empty() {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no resource at {}", req.path()),
            )
            .error_response();
        }
        let mut res = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{} is not allowed here; allowed: {}",
                req.method(),
                allowed.join(", ")
            ),
        )
        .error_response();
        if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
            res.headers_mut().insert(header::ALLOW, v);
        }
        res
    }
}

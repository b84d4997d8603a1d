//! Settings as one value: defaults → an optional TOML file → environment.
//! Validated at start-up; a bad value stops the process with one line naming it.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that never prints.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Settings {
    /// `DATABASE_URL`: `sqlite://path` or `postgres://…`.
    pub database_url: Secret,
    /// `REDIS_URL`: optional; without it, rate limits are kept in process.
    pub redis_url: Option<Secret>,
    /// `KARTEL_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `KARTEL_DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `KARTEL_SIGNING_KEY`: an Ed25519 private key in PKCS#8 PEM.
    pub signing_key: Option<Secret>,
    /// `KARTEL_SIGNING_KEY_FILE`: where the key is read from, or created on first start.
    pub signing_key_file: Option<PathBuf>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_seconds: i64,
    /// Requests per minute per client IP on register, login and refresh.
    pub auth_rate_limit_per_ip: u32,
    /// Requests per minute per email on register and login.
    pub auth_rate_limit_per_account: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy you trust).
    pub trust_forwarded_for: bool,
    /// Prefix of every Redis key this service writes.
    pub redis_prefix: String,
    /// `text` or `json`.
    pub log_format: String,
    pub max_body_bytes: usize,
    pub hold_sweep_interval_seconds: u64,
    pub shutdown_timeout_seconds: u64,
    /// Run migrations at start-up.
    pub migrate_on_start: bool,
    pub workers: Option<usize>,
    /// How long an authenticated service key is trusted without a database
    /// lookup; a revocation reaches other instances within this. 0: never cached.
    pub api_key_cache_seconds: u64,
    /// `KARTEL_SESSION_CACHE_SECONDS`: how long a checked session is taken
    /// from this instance's cache instead of the database, while no
    /// revocation of its person was marked in Redis (every instance sees a
    /// mark at once). Needs Redis; 0 turns it off.
    pub session_cache_seconds: u64,
    /// `KARTEL_PASSWORD_HASH_THREADS`: threads that hash and verify
    /// passwords (~19 MiB and a core each while they work); default one
    /// core fewer than the machine has (at least 1), so a sign-in storm
    /// leaves a core to the other requests.
    pub password_hash_threads: Option<usize>,
    /// How long an Idempotency-Key is remembered; a retry after that is a new request.
    pub idempotency_retention_hours: i64,
    /// `KARTEL_CORS_ORIGINS`: browser origins allowed to call the API,
    /// comma-separated (`https://portal.example.com,http://localhost:5173`);
    /// empty: none.
    pub cors_origins: String,
    /// `KARTEL_RETIRED_PUBLIC_KEYS`: public keys of signing keys no longer
    /// in use, comma-separated, each the JWK `x` (base64url Ed25519) as the
    /// old JWKS showed it. They stay in `/.well-known/jwks.json` so that
    /// certificates they signed still verify; only the current key signs.
    pub retired_public_keys: String,
    /// `KARTEL_ISSUER_URL`: the issuer id written into certificates (a URL
    /// of this service, e.g. `https://community.example.com`); default
    /// `urn:kartel:<jwt_issuer>`.
    pub issuer_url: Option<String>,
    /// `KARTEL_NOMINATION_TTL_DAYS`: how long a pending nomination waits
    /// for the lead before it expires.
    pub nomination_ttl_days: i64,
    /// `KARTEL_DASHBOARD_CACHE_SECONDS`: the talent-engine dashboard is
    /// computed at most this often per instance (0: on every request).
    pub dashboard_cache_seconds: u64,
    /// `KARTEL_SMTP_URL`: where mail is handed off, e.g.
    /// `smtp://mail.example.com:587?tls=required`, `smtps://user:pass@host`,
    /// `smtp://127.0.0.1:1025` (a local catcher). Unset: mails are written
    /// to the log, links included, instead of being sent.
    pub smtp_url: Option<Secret>,
    /// `KARTEL_MAIL_FROM`: the sender of every mail.
    pub mail_from: String,
    /// `KARTEL_PUBLIC_URL`: the portal's address; links in mails start with it.
    pub public_url: String,
    /// `KARTEL_MAIL_POLL_MILLIS`: how often the mailer looks for mail
    /// written by other instances or due for a retry.
    pub mail_poll_millis: u64,
    /// `KARTEL_MAIL_RETRY_SECONDS`: the first retry's delay after a failed
    /// hand-off; it doubles with each attempt, up to an hour.
    pub mail_retry_seconds: u64,
    /// `KARTEL_PUBLIC_CACHE_MILLIS`: challenge list and leaderboard pages as
    /// non-staff see them are built at most this often per instance (0: on
    /// every request).
    pub public_cache_millis: u64,
    /// `KARTEL_REVIEW_LEASE_MINUTES`: how long a claimed review seat stays
    /// its reviewer's (and how far an extension reaches) before it goes
    /// back to the queue.
    pub review_lease_minutes: i64,
    /// `KARTEL_EVENT_SEQUENCE_MILLIS`: how often the sequencer gives
    /// committed events their place in the one order readers follow
    /// (webhooks, the live stream, the pull API): an event reaches them
    /// within about this long after its commit.
    pub event_sequence_millis: u64,
    /// `KARTEL_STREAM_KEEP_ALIVE_SECONDS`: how often an open live stream
    /// sends a keep-alive comment, and checks that its session and account
    /// still stand (a suspension or erasure ends it at once anyway).
    pub stream_keep_alive_seconds: u64,
    /// `KARTEL_STREAM_RESUME_EVENTS`: how far behind the newest event a
    /// stream's `Last-Event-ID` may be and still resume without loss; older
    /// (or beyond the newest) gets `event: reset` (reload, then follow on).
    pub stream_resume_events: i64,
    /// `KARTEL_WEBHOOK_ALLOW_HTTP`: endpoints may be plain `http://` URLs
    /// (for development; deliveries are signed but not private).
    pub webhook_allow_http: bool,
    /// `KARTEL_WEBHOOK_ALLOW_PRIVATE`: deliveries may go to loopback,
    /// private, link-local (metadata) and other inward addresses (tests,
    /// receivers on the same network). Off, such an address is refused at
    /// delivery time, whatever a name resolves to then.
    pub webhook_allow_private: bool,
    /// `KARTEL_WEBHOOK_TIMEOUT_SECONDS`: how long a delivery waits for the
    /// receiver's whole answer.
    pub webhook_timeout_seconds: u64,
    /// `KARTEL_WEBHOOK_RETRY_SCHEDULE`: seconds to wait after each failed
    /// attempt, comma-separated (each varied by ±20 %); after the last the
    /// delivery fails.
    pub webhook_retry_schedule: String,
    /// `KARTEL_WEBHOOK_DISABLE_AFTER_SECONDS`: an endpoint whose every
    /// attempt failed for this long is disabled and the admins are mailed.
    pub webhook_disable_after_seconds: i64,
    /// `KARTEL_WEBHOOK_CONCURRENCY`: deliveries this instance sends at once.
    pub webhook_concurrency: usize,
    /// `KARTEL_WEBHOOK_POLL_MILLIS`: how often the dispatcher and the
    /// delivery worker look for work nobody told them of (another
    /// instance's events, retries falling due).
    pub webhook_poll_millis: u64,
    /// `KARTEL_WEBHOOK_RETENTION_DAYS`: messages, deliveries and attempts
    /// are forgotten this long after the event (pending ones are kept).
    pub webhook_retention_days: i64,
    /// `KARTEL_WEBHOOK_WORKERS`: this instance runs the dispatcher and a
    /// delivery worker (off: it only serves; another instance delivers).
    pub webhook_workers: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: Secret::new(DEFAULT_DATABASE_URL.into()),
            redis_url: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_max_connections: 10,
            signing_key: None,
            signing_key_file: None,
            jwt_issuer: "kartel".into(),
            jwt_audience: "kartel-api".into(),
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            auth_rate_limit_per_ip: 30,
            auth_rate_limit_per_account: 10,
            trust_forwarded_for: false,
            redis_prefix: "kartel".into(),
            log_format: "text".into(),
            max_body_bytes: 64 * 1024,
            hold_sweep_interval_seconds: 30,
            shutdown_timeout_seconds: 30,
            migrate_on_start: true,
            workers: None,
            api_key_cache_seconds: 2,
            session_cache_seconds: 30,
            password_hash_threads: None,
            idempotency_retention_hours: 7 * 24,
            cors_origins: String::new(),
            retired_public_keys: String::new(),
            issuer_url: None,
            nomination_ttl_days: 30,
            dashboard_cache_seconds: 10,
            smtp_url: None,
            mail_from: "Kartel <no-reply@localhost>".into(),
            public_url: "http://localhost:3000".into(),
            mail_poll_millis: 2000,
            mail_retry_seconds: 10,
            public_cache_millis: 1000,
            review_lease_minutes: 30,
            event_sequence_millis: 200,
            stream_keep_alive_seconds: 15,
            stream_resume_events: 100_000,
            webhook_allow_http: false,
            webhook_allow_private: false,
            webhook_timeout_seconds: 15,
            webhook_retry_schedule: DEFAULT_WEBHOOK_RETRY_SCHEDULE.into(),
            webhook_disable_after_seconds: 5 * 24 * 3600,
            webhook_concurrency: 32,
            webhook_poll_millis: 1000,
            webhook_retention_days: 30,
            webhook_workers: true,
        }
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/kartel.db";
/// About 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub const DEFAULT_WEBHOOK_RETRY_SCHEDULE: &str = "5,300,1800,7200,18000,36000,36000";

impl Settings {
    /// Reads defaults, then `KARTEL_CONFIG` (or `kartel.toml` if present), then
    /// the environment.
    pub fn load() -> Result<Self, String> {
        let file = std::env::var("KARTEL_CONFIG").unwrap_or_else(|_| "kartel.toml".into());
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]))
            .merge(Env::prefixed("KARTEL_").ignore(&["CONFIG"]));
        let s: Settings = figment.extract().map_err(|e| {
            let key = e.path.join(".").to_uppercase();
            let name = match key.as_str() {
                "" => String::new(),
                "DATABASE_URL" | "REDIS_URL" => format!(" {key}"),
                _ => format!(" KARTEL_{key}"),
            };
            format!("invalid setting{name}: {}", e.kind)
        })?;
        s.validate()?;
        Ok(s)
    }

    /// The allowed CORS origins, as configured.
    pub fn cors_origins(&self) -> Vec<&str> {
        self.cors_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect()
    }

    pub fn validate(&self) -> Result<(), String> {
        for origin in self.cors_origins() {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains('/')) {
                return Err(format!(
                    "invalid setting KARTEL_CORS_ORIGINS: {origin:?} is not an origin like https://portal.example.com"
                ));
            }
        }
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err("invalid setting DATABASE_URL: must start with sqlite:, postgres:// or postgresql://".into());
        }
        if let Some(r) = &self.redis_url
            && !(r.expose().starts_with("redis://") || r.expose().starts_with("rediss://"))
        {
            return Err("invalid setting REDIS_URL: must start with redis:// or rediss://".into());
        }
        if let Some(u) = &self.smtp_url {
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(u.expose()).map_err(
                |e| {
                    format!(
                        "invalid setting KARTEL_SMTP_URL: {e} (e.g. smtp://host:587?tls=required)"
                    )
                },
            )?;
        }
        self.mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("invalid setting KARTEL_MAIL_FROM: {e}"))?;
        if !(self.public_url.starts_with("https://") || self.public_url.starts_with("http://")) {
            return Err(
                "invalid setting KARTEL_PUBLIC_URL: must start with https:// or http://".into(),
            );
        }
        if self.public_cache_millis > 60_000 {
            return Err("invalid setting KARTEL_PUBLIC_CACHE_MILLIS: at most 60000".into());
        }
        if self.mail_poll_millis < 20 {
            return Err("invalid setting KARTEL_MAIL_POLL_MILLIS: must be at least 20".into());
        }
        if self.mail_retry_seconds == 0 {
            return Err("invalid setting KARTEL_MAIL_RETRY_SECONDS: must be at least 1".into());
        }
        if !(30..=900).contains(&self.access_token_ttl_seconds) {
            return Err(
                "invalid setting KARTEL_ACCESS_TOKEN_TTL_SECONDS: must be between 30 and 900"
                    .into(),
            );
        }
        if !(300..=90 * 24 * 3600).contains(&self.refresh_token_ttl_seconds) {
            return Err(
                "invalid setting KARTEL_REFRESH_TOKEN_TTL_SECONDS: must be between 300 and 7776000"
                    .into(),
            );
        }
        if self.database_max_connections == 0 {
            return Err(
                "invalid setting KARTEL_DATABASE_MAX_CONNECTIONS: must be at least 1".into(),
            );
        }
        if self.auth_rate_limit_per_ip == 0 || self.auth_rate_limit_per_account == 0 {
            return Err(
                "invalid setting KARTEL_AUTH_RATE_LIMIT_PER_IP / _PER_ACCOUNT: must be at least 1"
                    .into(),
            );
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err("invalid setting KARTEL_LOG_FORMAT: must be text or json".into());
        }
        if self.max_body_bytes < 1024 {
            return Err("invalid setting KARTEL_MAX_BODY_BYTES: must be at least 1024".into());
        }
        if self.idempotency_retention_hours < 24 {
            return Err(
                "invalid setting KARTEL_IDEMPOTENCY_RETENTION_HOURS: must be at least 24".into(),
            );
        }
        if self.api_key_cache_seconds > 60 {
            return Err("invalid setting KARTEL_API_KEY_CACHE_SECONDS: must be at most 60".into());
        }
        if self
            .password_hash_threads
            .is_some_and(|n| !(1..=64).contains(&n))
        {
            return Err("invalid setting KARTEL_PASSWORD_HASH_THREADS: must be 1–64".into());
        }
        if self.session_cache_seconds > 300 {
            return Err("invalid setting KARTEL_SESSION_CACHE_SECONDS: must be at most 300".into());
        }
        if self.dashboard_cache_seconds > 3600 {
            return Err(
                "invalid setting KARTEL_DASHBOARD_CACHE_SECONDS: must be at most 3600".into(),
            );
        }
        if !(1..=24 * 60).contains(&self.review_lease_minutes) {
            return Err("invalid setting KARTEL_REVIEW_LEASE_MINUTES: must be 1–1440".into());
        }
        if !(1..=365).contains(&self.nomination_ttl_days) {
            return Err("invalid setting KARTEL_NOMINATION_TTL_DAYS: must be 1–365".into());
        }
        if !(10..=60_000).contains(&self.event_sequence_millis) {
            return Err("invalid setting KARTEL_EVENT_SEQUENCE_MILLIS: must be 10–60000".into());
        }
        if !(1..=300).contains(&self.stream_keep_alive_seconds) {
            return Err("invalid setting KARTEL_STREAM_KEEP_ALIVE_SECONDS: must be 1–300".into());
        }
        if self.stream_resume_events < 1 {
            return Err("invalid setting KARTEL_STREAM_RESUME_EVENTS: must be at least 1".into());
        }
        self.webhook_retry_waits()?;
        if !(1..=60).contains(&self.webhook_timeout_seconds) {
            return Err("invalid setting KARTEL_WEBHOOK_TIMEOUT_SECONDS: must be 1–60".into());
        }
        if self.webhook_disable_after_seconds < 1 {
            return Err(
                "invalid setting KARTEL_WEBHOOK_DISABLE_AFTER_SECONDS: must be at least 1".into(),
            );
        }
        if !(1..=1024).contains(&self.webhook_concurrency) {
            return Err("invalid setting KARTEL_WEBHOOK_CONCURRENCY: must be 1–1024".into());
        }
        if !(20..=60_000).contains(&self.webhook_poll_millis) {
            return Err("invalid setting KARTEL_WEBHOOK_POLL_MILLIS: must be 20–60000".into());
        }
        if !(1..=3650).contains(&self.webhook_retention_days) {
            return Err("invalid setting KARTEL_WEBHOOK_RETENTION_DAYS: must be 1–3650".into());
        }
        if self.hold_sweep_interval_seconds == 0 {
            return Err(
                "invalid setting KARTEL_HOLD_SWEEP_INTERVAL_SECONDS: must be at least 1".into(),
            );
        }
        if self.redis_prefix.is_empty()
            || self.jwt_issuer.is_empty()
            || self.jwt_audience.is_empty()
        {
            return Err("invalid setting: KARTEL_REDIS_PREFIX, KARTEL_JWT_ISSUER and KARTEL_JWT_AUDIENCE must not be empty".into());
        }
        Ok(())
    }

    /// The waits after each failed webhook attempt.
    pub fn webhook_retry_waits(&self) -> Result<Vec<chrono::Duration>, String> {
        let bad = || {
            "invalid setting KARTEL_WEBHOOK_RETRY_SCHEDULE: 1–20 comma-separated whole seconds, \
             each 1–604800 (e.g. 5,300,1800)"
                .to_owned()
        };
        let waits = self
            .webhook_retry_schedule
            .split(',')
            .map(|s| match s.trim().parse::<i64>() {
                Ok(n) if (1..=604_800).contains(&n) => Ok(chrono::Duration::seconds(n)),
                Ok(_) | Err(_) => Err(bad()),
            })
            .collect::<Result<Vec<_>, String>>()?;
        if waits.len() > 20 {
            return Err(bad());
        }
        Ok(waits)
    }

    /// What deliveries may reach.
    pub fn webhook_reach(&self) -> kartel_domain::webhooks::Reach {
        kartel_domain::webhooks::Reach {
            allow_http: self.webhook_allow_http,
            allow_private: self.webhook_allow_private,
        }
    }

    /// How long a review claim's lease runs.
    pub fn review_lease(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.review_lease_minutes)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }

    /// The SQLite file path, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let url = self.database_url.expose().strip_prefix("sqlite:")?;
        let path = url.trim_start_matches("//").split('?').next()?;
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// Where the signing key lives when none is given inline: the configured
    /// file, or beside the SQLite database, or `data/signing-key.pem`.
    pub fn signing_key_path(&self) -> PathBuf {
        if let Some(p) = &self.signing_key_file {
            return p.clone();
        }
        match self
            .sqlite_path()
            .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        {
            Some(dir) => dir.join("signing-key.pem"),
            None => PathBuf::from("data/signing-key.pem"),
        }
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail closures return figment::Error"
)]
mod tests {
    use figment::Jail;

    use super::*;

    fn load_err(jail: &mut Jail, var: &str, value: &str) -> String {
        jail.set_env(var, value);
        let e = Settings::load().expect_err("a bad value is refused");
        jail.clear_env();
        e
    }

    #[test]
    fn defaults_need_no_configuration() {
        Jail::expect_with(|jail| {
            // Whatever the shell running the tests has set is not ours.
            jail.clear_env();
            let s = Settings::load().expect("defaults load");
            assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
            assert!(s.is_sqlite());
            assert!(s.redis_url.is_none());
            assert_eq!(s.sqlite_path(), Some(PathBuf::from("data/kartel.db")));
            assert_eq!(s.signing_key_path(), PathBuf::from("data/signing-key.pem"));
            Ok(())
        });
    }

    #[test]
    fn environment_and_file_are_read() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "kartel.toml",
                "addr = \"0.0.0.0:9000\"\nauth_rate_limit_per_ip = 7\n",
            )?;
            jail.set_env("DATABASE_URL", "postgres://u@h:5432/db");
            jail.set_env("REDIS_URL", "redis://127.0.0.1:6379");
            jail.set_env("KARTEL_AUTH_RATE_LIMIT_PER_IP", "9");
            let s = Settings::load().expect("loads");
            assert_eq!(s.addr.to_string(), "0.0.0.0:9000");
            assert_eq!(
                s.auth_rate_limit_per_ip, 9,
                "the environment wins over the file"
            );
            assert!(!s.is_sqlite());
            assert_eq!(s.sqlite_path(), None);
            assert_eq!(s.signing_key_path(), PathBuf::from("data/signing-key.pem"));
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_is_refused_with_one_line_naming_the_setting() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            for (var, value) in [
                ("KARTEL_ADDR", "not an address"),
                ("DATABASE_URL", "mysql://x"),
                ("REDIS_URL", "http://x"),
                ("KARTEL_ACCESS_TOKEN_TTL_SECONDS", "3600"),
                ("KARTEL_DATABASE_MAX_CONNECTIONS", "0"),
                ("KARTEL_LOG_FORMAT", "xml"),
                ("KARTEL_API_KEY_CACHE_SECONDS", "600"),
                ("KARTEL_AUTH_RATE_LIMIT_PER_IP", "lots"),
                ("KARTEL_REVIEW_LEASE_MINUTES", "0"),
                ("KARTEL_WEBHOOK_RETRY_SCHEDULE", "5,soon"),
                ("KARTEL_WEBHOOK_TIMEOUT_SECONDS", "0"),
            ] {
                let e = load_err(jail, var, value);
                assert!(e.contains(var), "{var}: {e}");
                assert!(!e.contains('\n'), "one line: {e}");
            }
            Ok(())
        });
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings {
            database_url: Secret::new("postgres://u:hunter2@h/db".into()),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn the_signing_key_lives_beside_the_sqlite_file() {
        let s = Settings {
            database_url: Secret::new("sqlite:///var/lib/kartel/k.db?mode=rwc".into()),
            ..Settings::default()
        };
        assert_eq!(s.sqlite_path(), Some(PathBuf::from("/var/lib/kartel/k.db")));
        assert_eq!(
            s.signing_key_path(),
            PathBuf::from("/var/lib/kartel/signing-key.pem")
        );
    }
}

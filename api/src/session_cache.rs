//! The signed-in hot path: a per-instance cache of checked sessions, so that
//! most signed-in requests do not look their session up in the database.
//!
//! An entry (session id → the person, their roles) is used only while two
//! things hold: it is younger than `KARTEL_SESSION_CACHE_SECONDS`, and the
//! person's *revocation mark* in Redis is the one it was checked under. Every
//! change that ends a session or a person's access (logout, password change
//! or reset, suspension, a role change, erasure, refresh-token reuse) sets a
//! new mark after its commit (`revoked`), so every instance's entries of that
//! person stop at once: the next request, on any instance, reads the new
//! mark and checks the database. Mark reads are gathered: one task per
//! instance asks Redis with one `MGET` for every request waiting, so a
//! busy instance makes one round trip for many requests; each request's
//! mark is still read after it arrived (it waits for the next `MGET`, never
//! takes the answer of one already under way). A mark is a fresh
//! random value, never a counter, so an expired and re-set mark never
//! matches an entry by chance; it lives longer than any entry.
//!
//! Verifying an access token's Ed25519 signature costs more CPU than the rest
//! of a balance read: a token's text that verified is remembered (with its
//! person, session and expiry) and not verified again until it expires. That
//! needs no Redis and weakens nothing: the same text carries the same
//! signed claims, and the session is still checked as above.
//!
//! Fails safe: without Redis, or while Redis does not answer, nothing is
//! read from the cache and every request checks the database (as before
//! the cache). If a mark cannot be set after a commit, the error is logged
//! and counted; other instances may then accept that person's existing
//! sessions for at most the cache's lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kartel_domain::types::Roles;
use kartel_domain::{UserCaller, accounts};
use prometheus::IntCounter;
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::ApiError;
use crate::signing_keys::Claims;

/// Bounds memory: past this many sessions the cache starts over.
const MAX_ENTRIES: usize = 100_000;
/// After Redis fails to answer, the database alone is asked for this long
/// (a request does not wait out Redis's timeout each time).
const REDIS_PAUSE: Duration = Duration::from_secs(1);
/// `SigningKeys::verify_access_token`'s leeway on expiry.
const TOKEN_LEEWAY_SECONDS: i64 = crate::signing_keys::LEEWAY_SECONDS as i64;
/// Attempts to set a mark after a revocation.
const MARK_ATTEMPTS: u32 = 3;

/// What a verified access token says, and until when.
#[derive(Clone, Copy)]
pub struct Verified {
    pub user: Uuid,
    pub session: Uuid,
    expires: i64,
}

struct Entry {
    user: Uuid,
    roles: Roles,
    mark: Option<String>,
    checked: Instant,
}

pub struct SessionCache {
    ttl: Duration,
    redis: Option<(ConnectionManager, String)>,
    marks: Option<mpsc::UnboundedSender<MarkRead>>,
    entries: Mutex<HashMap<Uuid, Entry>>,
    tokens: Mutex<HashMap<Box<str>, Verified>>,
    /// Milliseconds since `started` until which Redis is not asked.
    paused_until: AtomicU64,
    started: Instant,
    /// `kartel_session_cache_hits_total` and `…_misses_total`: sessions
    /// taken from the cache, and checked in the database.
    pub hits: IntCounter,
    pub misses: IntCounter,
    /// `kartel_session_marks_failed_total`: revocations whose mark could
    /// not be set (other instances learn of them within the cache's life).
    pub marks_failed: IntCounter,
}

impl SessionCache {
    /// Off (every request asks the database) when `ttl` is zero or there is
    /// no Redis: instances could not tell each other of revocations.
    pub fn new(ttl: Duration, redis: Option<(ConnectionManager, String)>) -> anyhow::Result<Self> {
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let redis = redis.filter(|_| !ttl.is_zero());
        let marks = redis.clone().map(|(conn, prefix)| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(read_marks(conn, prefix, rx));
            tx
        });
        Ok(Self {
            redis,
            marks,
            ttl,
            entries: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            paused_until: AtomicU64::new(0),
            started: Instant::now(),
            hits: counter(
                "kartel_session_cache_hits_total",
                "Signed-in requests whose session came from the cache",
            )?,
            misses: counter(
                "kartel_session_cache_misses_total",
                "Signed-in requests whose session was checked in the database",
            )?,
            marks_failed: counter(
                "kartel_session_marks_failed_total",
                "Revocations whose mark could not be set in Redis",
            )?,
        })
    }

    /// The claims of an access token: remembered when this text verified
    /// before and has not expired (with the leeway `verify` allows), else
    /// `verify`'s answer, remembered when it verifies.
    pub fn verify(
        &self,
        token: &str,
        verify: impl FnOnce(&str) -> Option<Claims>,
    ) -> Option<Verified> {
        let now = chrono::Utc::now().timestamp();
        let live = |v: &Verified| v.expires >= now - TOKEN_LEEWAY_SECONDS;
        if let Some(v) = self.tokens.lock().ok()?.get(token).copied().filter(live) {
            return Some(v);
        }
        let claims = verify(token)?;
        let v = Verified {
            user: claims.sub,
            session: claims.sid,
            expires: claims.exp,
        };
        if let Ok(mut tokens) = self.tokens.lock() {
            if tokens.len() >= MAX_ENTRIES {
                tokens.retain(|_, v| live(v));
                if tokens.len() >= MAX_ENTRIES {
                    tokens.clear();
                }
            }
            tokens.insert(token.into(), v);
        }
        Some(v)
    }

    /// The person behind a verified access token's session: from the cache
    /// when its entry still holds, from the database otherwise.
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        user: Uuid,
        session: Uuid,
    ) -> Result<UserCaller, ApiError> {
        let Some(mark) = self.mark_of(user).await else {
            return Ok(accounts::authenticate(db, user, session).await?);
        };
        if let Some(caller) = self.hit(user, session, &mark) {
            self.hits.inc();
            return Ok(caller);
        }
        self.misses.inc();
        // The mark was read before the check: a revocation that commits in
        // between sets a newer mark, and this entry is not used again.
        let caller = accounts::authenticate(db, user, session).await?;
        self.put(&caller, mark);
        Ok(caller)
    }

    /// After the commit of a change that ended sessions of `user` or
    /// changed their access: every instance's entries of them stop.
    pub async fn revoked(&self, user: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, e| e.user != user);
        }
        let Some((conn, prefix)) = &self.redis else {
            return;
        };
        let key = key(prefix, user);
        // Longer than any entry lives, so a mark never expires under one.
        let keep = (self.ttl * 10).max(Duration::from_secs(3600)).as_secs();
        for attempt in 1..=MARK_ATTEMPTS {
            let mut conn = conn.clone();
            let res: redis::RedisResult<()> = redis::cmd("SET")
                .arg(&key)
                .arg(Uuid::new_v4().to_string())
                .arg("EX")
                .arg(keep)
                .query_async(&mut conn)
                .await;
            match res {
                Ok(()) => return,
                Err(e) if attempt == MARK_ATTEMPTS => {
                    self.marks_failed.inc();
                    tracing::error!(%user, error = %e, ttl_seconds = self.ttl.as_secs(),
                        "session cache: cannot mark a revocation in Redis; other instances \
                         may accept this person's sessions until their entries expire");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await,
            }
        }
    }

    /// The person's current mark (`Some(None)`: none set), or None when
    /// the cache is off or Redis does not answer.
    async fn mark_of(&self, user: Uuid) -> Option<Option<String>> {
        let marks = self.marks.as_ref()?;
        let now = self.started.elapsed().as_millis() as u64;
        if now < self.paused_until.load(Ordering::Relaxed) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        let res = match marks.send((user, tx)) {
            Ok(()) => rx.await.unwrap_or_else(|_| Err(gone())),
            Err(_) => Err(gone()),
        };
        match res {
            Ok(mark) => Some(mark),
            Err(e) => {
                // Marks set while Redis was away may be lost: nothing
                // checked before this moment is trusted again.
                if let Ok(mut entries) = self.entries.lock() {
                    entries.clear();
                }
                let until = self.started.elapsed() + REDIS_PAUSE;
                self.paused_until
                    .store(until.as_millis() as u64, Ordering::Relaxed);
                tracing::warn!(error = %e, "session cache: Redis unavailable; checking sessions in the database");
                None
            }
        }
    }

    fn hit(&self, user: Uuid, session: Uuid, mark: &Option<String>) -> Option<UserCaller> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(&session)?;
        (e.user == user && &e.mark == mark && e.checked.elapsed() < self.ttl).then(|| UserCaller {
            id: user,
            session_id: session,
            roles: e.roles.clone(),
        })
    }

    fn put(&self, caller: &UserCaller, mark: Option<String>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                caller.session_id,
                Entry {
                    user: caller.id,
                    roles: caller.roles.clone(),
                    mark,
                    checked: Instant::now(),
                },
            );
        }
    }
}

/// A request's mark read: the person, and where their mark goes.
type MarkRead = (Uuid, oneshot::Sender<redis::RedisResult<Option<String>>>);

/// At most this many marks in one `MGET`.
const MAX_BATCH: usize = 512;

/// The instance's mark reader: takes every read waiting, asks Redis for
/// them in one `MGET`, answers each; then the reads that came meanwhile.
async fn read_marks(
    mut conn: ConnectionManager,
    prefix: String,
    mut rx: mpsc::UnboundedReceiver<MarkRead>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut cmd = redis::cmd("MGET");
        for (user, _) in &batch {
            cmd.arg(key(&prefix, *user));
        }
        let res: redis::RedisResult<Vec<Option<String>>> = cmd.query_async(&mut conn).await;
        match res {
            Ok(marks) if marks.len() == batch.len() => {
                for ((_, tx), mark) in batch.drain(..).zip(marks) {
                    let _ = tx.send(Ok(mark));
                }
            }
            Ok(_) => answer_all(&mut batch, || {
                redis::RedisError::from((redis::ErrorKind::Client, "MGET answered another count"))
            }),
            Err(e) => answer_all(&mut batch, || e.clone()),
        }
    }
}

fn answer_all(batch: &mut Vec<MarkRead>, err: impl Fn() -> redis::RedisError) {
    for (_, tx) in batch.drain(..) {
        let _ = tx.send(Err(err()));
    }
}

fn gone() -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Client, "the mark reader stopped"))
}

fn key(prefix: &str, user: Uuid) -> String {
    format!("{prefix}:session-mark:{user}")
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            iss: "kartel".into(),
            aud: "kartel-api".into(),
            iat: exp - 900,
            exp,
        }
    }

    #[test]
    fn a_token_is_verified_once_until_it_expires() {
        let cache = SessionCache::new(Duration::ZERO, None).expect("the counters are valid");
        let now = chrono::Utc::now().timestamp();
        let calls = Cell::new(0);
        let live = claims(now + 60);
        let (user, session) = (live.sub, live.sid);
        let mut live = Some(live);
        let mut verify = |_: &str| {
            calls.set(calls.get() + 1);
            live.take()
        };
        for _ in 0..3 {
            let v = cache.verify("token-a", &mut verify).expect("verified");
            assert_eq!((v.user, v.session), (user, session));
        }
        assert_eq!(calls.get(), 1, "a remembered token is not verified again");

        // Past its expiry (and the leeway) the text is verified again, and
        // what no longer verifies is refused.
        let mut old = Some(claims(now - TOKEN_LEEWAY_SECONDS - 1));
        assert!(cache.verify("token-b", |_| old.take()).is_some());
        let again = Cell::new(false);
        let refused = cache.verify("token-b", |_| {
            again.set(true);
            None
        });
        assert!(again.get(), "an expired token's text was taken from memory");
        assert!(refused.is_none());
        // A text that never verified is never remembered.
        assert!(cache.verify("token-c", |_| None).is_none());
        assert!(cache.verify("token-c", |_| None).is_none());
    }
}

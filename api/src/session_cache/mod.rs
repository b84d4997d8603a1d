//! The signed-in hot path: a per-instance cache of checked sessions, so that
//! most signed-in requests do not look their session up in the database,
//! and ask nothing of Redis either.
//!
//! An entry (session id → the person, their roles) is used only while it is
//! younger than `KARTEL_SESSION_CACHE_SECONDS` and no revocation of that
//! person has reached the instance since it was checked. Every change that
//! ends a session or a person's access (logout, password change or reset,
//! suspension, a role change, erasure, refresh-token reuse) announces the
//! person on a Redis channel after its commit (`revoked`), and then waits
//! until every instance subscribed to the channel has confirmed it dropped
//! that person's entries (each instance's subscriber acknowledges a message
//! only after the drop). So when the change's HTTP answer leaves, no
//! instance still takes that person's old sessions from its cache: a
//! revocation is immediate across instances, as with a per-request Redis
//! read, without that read.
//!
//! A request that checked the database keeps its answer only if no
//! revocation of that person arrived while it was checking (a revocation
//! epoch per person), so a check that raced a revocation is never cached.
//!
//! Fails safe: the cache is used only while this instance's subscription
//! is confirmed. When the subscription ends (Redis restarts, goes away, the
//! connection drops) the cache is emptied and every request checks the
//! database until the instance has subscribed again; nothing checked before
//! is trusted again. If a revocation cannot be announced, or an instance
//! does not confirm it within `ACK_WAIT`, the error is logged and counted
//! (`kartel_session_marks_failed_total`); such an instance may accept that
//! person's existing sessions for at most the cache's lifetime.
//!
//! Verifying an access token's Ed25519 signature costs more CPU than the rest
//! of a balance read: a token's text that verified is remembered (with its
//! person, session and expiry) and not verified again until it expires. That
//! needs no Redis and weakens nothing: the same text carries the same
//! signed claims, and the session is still checked as above.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kartel_domain::types::Roles;
use kartel_domain::{UserCaller, accounts};
use prometheus::{IntCounter, IntGauge};
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;
use uuid::Uuid;

mod revocations;

use crate::error::ApiError;
use crate::signing_keys::Claims;

/// Bounds memory: past this many sessions (or revoked people remembered)
/// the cache starts over.
const MAX_ENTRIES: usize = 100_000;
/// `SigningKeys::verify_access_token`'s leeway on expiry.
const TOKEN_LEEWAY_SECONDS: i64 = crate::signing_keys::LEEWAY_SECONDS as i64;

/// How this instance reaches Redis: the shared connection (announcements,
/// acknowledgements), the client to subscribe with, the key prefix.
#[derive(Clone)]
pub struct RedisLink {
    pub client: redis::Client,
    pub conn: ConnectionManager,
    pub prefix: String,
}

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
    /// The epoch at which the database check that made it began.
    epoch: u64,
    checked: Instant,
}

/// The cache proper, shared with the subscriber task.
#[derive(Default)]
struct Entries {
    /// Whether this instance's subscription is confirmed: only then is the
    /// cache read or written.
    live: bool,
    /// Counts the revocations and subscription changes seen.
    epoch: u64,
    /// The epoch of each person's last revocation seen (since `floor`).
    revoked: HashMap<Uuid, u64>,
    /// Nothing checked before this epoch is used (the cache was emptied).
    floor: u64,
    sessions: HashMap<Uuid, Entry>,
}

impl Entries {
    /// Whether a check of `user` that began at `epoch` still holds.
    fn holds(&self, user: Uuid, epoch: u64) -> bool {
        self.live && epoch >= self.floor && self.revoked.get(&user).is_none_or(|&r| r <= epoch)
    }

    fn revoke(&mut self, user: Uuid) {
        self.epoch += 1;
        if self.revoked.len() >= MAX_ENTRIES {
            self.start_over();
        } else {
            self.revoked.insert(user, self.epoch);
            // Not needed for correctness (`holds`); frees the memory.
            self.sessions.retain(|_, e| e.user != user);
        }
    }

    /// Nothing checked before now is used again.
    fn start_over(&mut self) {
        self.epoch += 1;
        self.floor = self.epoch;
        self.revoked.clear();
        self.sessions.clear();
    }
}

pub struct SessionCache {
    ttl: Duration,
    redis: Option<RedisLink>,
    entries: Arc<Mutex<Entries>>,
    tokens: Mutex<HashMap<Box<str>, Verified>>,
    /// Dropped with the cache: ends the subscriber task.
    _stop: Option<oneshot::Sender<()>>,
    /// `kartel_session_cache_hits_total` and `…_misses_total`: sessions
    /// taken from the cache, and checked in the database while it was on.
    pub hits: IntCounter,
    pub misses: IntCounter,
    /// `kartel_session_marks_failed_total`: revocations that could not be
    /// announced, or that an instance did not confirm in time.
    pub marks_failed: IntCounter,
    /// `kartel_session_cache_on`: 1 while the subscription is confirmed
    /// and the cache in use, 0 while every request checks the database.
    pub on: IntGauge,
}

impl SessionCache {
    /// Off (every request asks the database) when `ttl` is zero or there is
    /// no Redis: instances could not tell each other of revocations. With
    /// Redis it starts off and turns on once its subscription is confirmed.
    pub fn new(ttl: Duration, redis: Option<RedisLink>) -> anyhow::Result<Self> {
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let redis = redis.filter(|_| !ttl.is_zero());
        let entries = Arc::new(Mutex::new(Entries::default()));
        let on = IntGauge::new(
            "kartel_session_cache_on",
            "1 while the session cache is in use (its revocations' subscription confirmed)",
        )?;
        let stop = redis.clone().map(|link| {
            let (tx, rx) = oneshot::channel();
            tokio::spawn(revocations::subscribe(
                link,
                Arc::downgrade(&entries),
                on.clone(),
                rx,
            ));
            tx
        });
        Ok(Self {
            redis,
            ttl,
            entries,
            tokens: Mutex::new(HashMap::new()),
            _stop: stop,
            on,
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
                "Revocations not announced, or not confirmed by every instance",
            )?,
        })
    }

    /// Waits (at most the subscription's timeout) until the cache is on, so
    /// an instance with a reachable Redis serves from its cache from its
    /// first request.
    pub async fn started(&self) {
        if self.redis.is_none() {
            return;
        }
        let deadline = Instant::now() + revocations::SUBSCRIBE_TIMEOUT;
        while self.on.get() == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
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
        let epoch = match self.lookup(user, session) {
            Lookup::Off => return Ok(accounts::authenticate(db, user, session).await?),
            Lookup::Hit(caller) => {
                self.hits.inc();
                return Ok(caller);
            }
            Lookup::Miss(epoch) => epoch,
        };
        self.misses.inc();
        // The epoch was read before the check: a revocation of this person
        // that arrives meanwhile keeps the answer out of the cache.
        let caller = accounts::authenticate(db, user, session).await?;
        self.put(&caller, epoch);
        Ok(caller)
    }

    /// After the commit of a change that ended sessions of `user` or
    /// changed their access: every instance's entries of them stop, and
    /// this returns once every subscribed instance has confirmed it.
    pub async fn revoked(&self, user: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.revoke(user);
        }
        let Some(link) = &self.redis else {
            return;
        };
        revocations::announce(link, user, self.ttl, &self.marks_failed).await;
    }

    fn lookup(&self, user: Uuid, session: Uuid) -> Lookup {
        // Without Redis nothing ever turns the cache on.
        let Ok(entries) = self.entries.lock() else {
            return Lookup::Off;
        };
        if !entries.live {
            return Lookup::Off;
        }
        match entries.sessions.get(&session) {
            Some(e)
                if e.user == user
                    && e.checked.elapsed() < self.ttl
                    && entries.holds(user, e.epoch) =>
            {
                Lookup::Hit(UserCaller {
                    id: user,
                    session_id: session,
                    roles: e.roles.clone(),
                })
            }
            Some(_) | None => Lookup::Miss(entries.epoch),
        }
    }

    fn put(&self, caller: &UserCaller, epoch: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if !entries.holds(caller.id, epoch) {
            return;
        }
        if entries.sessions.len() >= MAX_ENTRIES {
            entries.sessions.clear();
        }
        entries.sessions.insert(
            caller.session_id,
            Entry {
                user: caller.id,
                roles: caller.roles.clone(),
                epoch,
                checked: Instant::now(),
            },
        );
    }
}

enum Lookup {
    /// The cache is off (no Redis, or no confirmed subscription).
    Off,
    Hit(UserCaller),
    /// Not cached; the epoch the database check begins at.
    Miss(u64),
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

    fn caller(user: Uuid) -> UserCaller {
        UserCaller {
            id: user,
            session_id: Uuid::new_v4(),
            roles: Roles::default(),
        }
    }

    fn entries(cache: &SessionCache) -> std::sync::MutexGuard<'_, Entries> {
        cache.entries.lock().expect("not poisoned")
    }

    fn cache_on() -> SessionCache {
        let cache = SessionCache::new(Duration::from_secs(60), None).expect("valid counters");
        entries(&cache).live = true;
        cache
    }

    /// None: a hit; else the epoch a database check would begin at.
    fn lookup_on(cache: &SessionCache, c: &UserCaller) -> Option<u64> {
        match cache.lookup(c.id, c.session_id) {
            Lookup::Hit(_) => None,
            Lookup::Miss(epoch) => Some(epoch),
            Lookup::Off => panic!("the cache is off"),
        }
    }

    #[test]
    fn a_check_that_races_a_revocation_is_not_kept() {
        let cache = cache_on();
        let (t, other) = (caller(Uuid::new_v4()), caller(Uuid::new_v4()));
        let (epoch, other_epoch) = (
            lookup_on(&cache, &t).expect("a miss"),
            lookup_on(&cache, &other).expect("a miss"),
        );
        // t is revoked while their database check is under way.
        entries(&cache).revoke(t.id);
        cache.put(&t, epoch);
        cache.put(&other, other_epoch);
        assert!(
            lookup_on(&cache, &t).is_some(),
            "a check older than the revocation was kept"
        );
        assert!(
            lookup_on(&cache, &other).is_none(),
            "someone else's check was dropped"
        );
        // A check that begins after the revocation is kept; a later
        // revocation ends it.
        let epoch = lookup_on(&cache, &t).expect("a miss");
        cache.put(&t, epoch);
        assert!(lookup_on(&cache, &t).is_none());
        entries(&cache).revoke(t.id);
        assert!(lookup_on(&cache, &t).is_some());
    }

    #[test]
    fn nothing_is_kept_or_used_while_the_subscription_is_down() {
        let cache = cache_on();
        let t = caller(Uuid::new_v4());
        let epoch = lookup_on(&cache, &t).expect("a miss");
        cache.put(&t, epoch);
        assert!(lookup_on(&cache, &t).is_none());
        // The subscription drops (the cache empties and turns off) and comes
        // back: neither the old entry nor a check begun before is used.
        let late = caller(t.id);
        let before = lookup_on(&cache, &late).expect("a miss");
        {
            let mut e = entries(&cache);
            e.start_over();
            e.live = false;
        }
        assert!(matches!(cache.lookup(t.id, t.session_id), Lookup::Off));
        cache.put(&late, before);
        assert!(entries(&cache).sessions.is_empty());
        {
            let mut e = entries(&cache);
            e.start_over();
            e.live = true;
        }
        cache.put(&late, before);
        assert!(lookup_on(&cache, &t).is_some());
        assert!(lookup_on(&cache, &late).is_some());
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

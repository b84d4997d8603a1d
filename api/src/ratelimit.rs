//! Fixed-window rate limits: in Redis when configured (shared by every
//! instance), in process otherwise.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

pub enum RateLimiter {
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
    Memory(Mutex<HashMap<String, (u32, Instant)>>),
}

impl RateLimiter {
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    /// Counts one request against `key`; `Err(seconds)` when over `limit` in
    /// this window, with how long until the window ends.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<(), u64> {
        match self {
            Self::Redis { conn, prefix } => {
                let k = format!("{prefix}:rl:{key}");
                let mut conn = conn.clone();
                let res: redis::RedisResult<(u64, i64)> = redis::pipe()
                    .atomic()
                    .incr(&k, 1u64)
                    .cmd("EXPIRE")
                    .arg(&k)
                    .arg(window.as_secs())
                    .arg("NX")
                    .ignore()
                    .ttl(&k)
                    .query_async(&mut conn)
                    .await;
                match res {
                    Ok((count, ttl)) if count > u64::from(limit) => Err(ttl.max(1) as u64),
                    Ok(_) => Ok(()),
                    Err(e) => {
                        // Failing open: an outage of Redis must not lock everyone out.
                        tracing::error!(error = %e, "rate limiter: Redis unavailable; allowing the request");
                        Ok(())
                    }
                }
            }
            Self::Memory(map) => {
                let now = Instant::now();
                let Ok(mut map) = map.lock() else {
                    return Ok(());
                };
                if map.len() > 100_000 {
                    map.retain(|_, (_, start)| now.duration_since(*start) < window);
                }
                let entry = map.entry(key.to_owned()).or_insert((0, now));
                if now.duration_since(entry.1) >= window {
                    *entry = (0, now);
                }
                entry.0 += 1;
                if entry.0 > limit {
                    let left = window.saturating_sub(now.duration_since(entry.1));
                    Err(left.as_secs().max(1))
                } else {
                    Ok(())
                }
            }
        }
    }
}

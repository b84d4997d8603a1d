//! A short-lived, in-process cache of authenticated service keys, so that a
//! generation service's every call does not also look its key up in the
//! database. A revoked key stops at once on the instance that revoked it and
//! within `KARTEL_API_KEY_CACHE_SECONDS` on the others (0 turns caching off).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kartel_domain::ServiceCaller;
use uuid::Uuid;

/// Bounds memory: past this many keys the cache starts over.
const MAX_ENTRIES: usize = 10_000;

pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (ServiceCaller, Instant)>>,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, secret: &str) -> Option<ServiceCaller> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (caller, at) = entries.get(secret)?;
        (at.elapsed() < self.ttl).then(|| caller.clone())
    }

    /// Only keys that authenticated are kept: unknown secrets never fill it.
    pub fn put(&self, secret: &str, caller: &ServiceCaller) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(secret.to_owned(), (caller.clone(), Instant::now()));
        }
    }

    pub fn forget(&self, key_id: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (c, _)| c.key_id != key_id);
        }
    }
}

//! Short-lived answers to the public reads that everyone asks the same way
//! (the challenge list and leaderboard pages as non-staff see them), per
//! instance, for `KARTEL_PUBLIC_CACHE_MILLIS`. What is cached is the
//! serialised body of a successful answer, keyed by the parsed request, so
//! a page is built once per interval however many read it; refusals are
//! never cached. A page may be that much older than the database (a review
//! or a clock move shows up within it). 0 turns the cache off.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::web::Bytes;

use kartel_domain::{Caller, policy};

use crate::error::{ApiError, ApiResult};

/// Entries kept at most; past it, the expired ones go (and, if none has,
/// all of them).
const MAX_ENTRIES: usize = 10_000;

pub struct ResponseCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Bytes)>>,
}

impl ResponseCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, key: &str) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, body)| body.clone())
    }

    fn keep(&self, key: String, body: Bytes) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), body));
    }

    /// A 200 JSON answer to `caller`. Staff get `value()` as it is now;
    /// everyone else shares one answer per `key` (what the request asked
    /// for): from the cache while fresh, otherwise `value()` serialised and
    /// kept when it succeeded.
    pub async fn json<T, F, Fut>(
        &self,
        caller: Option<&Caller>,
        key: impl FnOnce() -> String,
        value: F,
    ) -> ApiResult<HttpResponse>
    where
        T: serde::Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<T>>,
    {
        let cached = !self.ttl.is_zero() && !caller.is_some_and(policy::is_staff);
        if !cached {
            return Ok(HttpResponse::Ok().json(value().await?));
        }
        let key = key();
        if let Some(body) = self.fresh(&key) {
            return Ok(ok_json(body));
        }
        let v = value().await?;
        let body = Bytes::from(
            serde_json::to_vec(&v)
                .map_err(|e| ApiError::from(kartel_domain::DomainError::Internal(e.into())))?,
        );
        self.keep(key, body.clone());
        Ok(ok_json(body))
    }
}

fn ok_json(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

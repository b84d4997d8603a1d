//! Deliveries under a lease: a worker takes due deliveries of enabled
//! endpoints with one guarded update (`leased_until`, `lease_id`: of
//! several workers one holds a delivery at a time; a lease that ran out is
//! taken again), sends them, and records each attempt here: a 2xx delivers;
//! a 410 fails it and disables the endpoint; anything else is retried on
//! the schedule (a 429 or 503's `Retry-After` instead, when it gives one)
//! until the schedule is spent. An endpoint whose every attempt failed for
//! `disable_after` is disabled and every active admin is mailed.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult};
use uuid::Uuid;

use super::endpoints::DisabledReason;
use crate::db;
use crate::error::Result;
use crate::mail::{self, Mail};
use crate::{new_id, now};

/// A delivery taken for sending, with what sending needs.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Due {
    pub delivery_id: Uuid,
    pub message_id: Uuid,
    pub endpoint_id: Uuid,
    /// Attempts before this one.
    pub attempts: i32,
    pub lease_id: Uuid,
    pub url: String,
    pub body: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<DateTime<Utc>>,
}

impl Due {
    /// The secrets that sign at `at`: the current one, and the previous
    /// one while its rotation overlap lasts.
    pub fn secrets(&self, at: DateTime<Utc>) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(p), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && until > at
        {
            out.push(p);
        }
        out
    }
}

/// What an attempt got back.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The HTTP status; `None` when no answer came (refused address,
    /// connection error, timeout).
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// The answer's first bytes (at most 4 KiB), as text.
    pub response: String,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// A 429 or 503's `Retry-After`.
    pub retry_after: Option<Duration>,
}

/// When to try again, and when to give up on an endpoint.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The waits after the 1st, 2nd… failed attempt; when spent, the
    /// delivery fails.
    pub schedule: Vec<Duration>,
    /// An endpoint whose every attempt failed this long is disabled.
    pub disable_after: Duration,
    /// Each wait is varied by up to ±20 % (off only in tests that time it).
    pub jitter: bool,
}

/// How an attempt was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    /// Failed; tried again at this time.
    Retry(DateTime<Utc>),
    /// Failed for good (the schedule is spent, or the endpoint is gone).
    Failed,
    /// The lease ran out and another worker took the delivery: only the
    /// attempt itself was recorded.
    LeaseLost,
}

/// The longest wait a `Retry-After` may ask for.
const MAX_RETRY_AFTER_HOURS: i64 = 24;

/// Takes up to `max` due deliveries of enabled endpoints for `lease`.
pub async fn lease_due(db: &DatabaseConnection, max: u64, lease: Duration) -> Result<Vec<Due>> {
    let t = now();
    let lease_id = new_id();
    let skip_locked = if db.get_database_backend() == DbBackend::Postgres {
        " FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    let due = "d.status = 'pending' AND d.next_attempt_at <= $3 \
               AND (d.leased_until IS NULL OR d.leased_until < $3)";
    let taken = db::execute(
        db,
        &format!(
            "UPDATE webhook_deliveries SET leased_until = $1, lease_id = $2 WHERE id IN ( \
               SELECT d.id FROM webhook_deliveries d \
               JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.disabled = FALSE \
               WHERE {due} ORDER BY d.next_attempt_at LIMIT {max}{skip_locked}) \
             AND status = 'pending' AND (leased_until IS NULL OR leased_until < $3)"
        ),
        [(t + lease).into(), lease_id.into(), t.into()],
    )
    .await?;
    if taken == 0 {
        return Ok(Vec::new());
    }
    Ok(db::fetch_all(
        db,
        "SELECT d.id AS delivery_id, d.message_id, d.endpoint_id, d.attempts, d.lease_id, \
         e.url, m.body, e.secret, e.previous_secret, e.previous_secret_until \
         FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.lease_id = $1",
        [lease_id.into()],
    )
    .await?)
}

/// A random factor in [0.8, 1.2].
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => 0.8 + 0.4 * (f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)),
        Err(_) => 1.0,
    }
}

/// The wait before the next attempt after `attempts` failed ones, or
/// `None` when the schedule is spent.
fn next_wait(policy: &RetryPolicy, attempts: i32, answer: &Answer) -> Option<Duration> {
    let step = policy.schedule.get(usize::try_from(attempts - 1).ok()?)?;
    let honoured = match answer.status {
        Some(429 | 503) => answer.retry_after,
        Some(_) | None => None,
    };
    Some(match honoured {
        Some(w) => w.clamp(Duration::zero(), Duration::hours(MAX_RETRY_AFTER_HOURS)),
        None if policy.jitter => {
            Duration::milliseconds((step.num_milliseconds() as f64 * jitter()) as i64)
        }
        None => *step,
    })
}

/// Records an attempt at `due` and what follows from it.
pub async fn record(
    db: &DatabaseConnection,
    due: &Due,
    answer: &Answer,
    policy: &RetryPolicy,
) -> Result<Recorded> {
    let t = now();
    let delivered = answer.status.is_some_and(|s| (200..300).contains(&s));
    let gone = answer.status == Some(410);
    let tx = db::begin_write(db).await?;
    db::execute(
        &tx,
        "INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, message_id, attempted_at, \
         status_code, latency_ms, response, error, succeeded) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            new_id().into(),
            due.delivery_id.into(),
            due.endpoint_id.into(),
            due.message_id.into(),
            t.into(),
            answer.status.map(i32::from).into(),
            answer.latency_ms.into(),
            answer.response.clone().into(),
            answer.error.clone().into(),
            delivered.into(),
        ],
    )
    .await?;
    let attempts = due.attempts + 1;
    let error = answer
        .error
        .clone()
        .or_else(|| answer.status.map(|s| format!("answered {s}")));
    let guard = "WHERE id = $1 AND lease_id = $2 AND status = 'pending'";
    let (sql, outcome): (String, Recorded) = if delivered {
        (
            format!(
                "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $3, \
                 attempts = $4, leased_until = NULL, last_error = NULL {guard}"
            ),
            Recorded::Delivered,
        )
    } else {
        match next_wait(policy, attempts, answer).filter(|_| !gone) {
            Some(wait) => (
                format!(
                    "UPDATE webhook_deliveries SET next_attempt_at = $3, attempts = $4, \
                     leased_until = NULL, last_error = $5 {guard}"
                ),
                Recorded::Retry(t + wait),
            ),
            None => (
                format!(
                    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = $3, \
                     attempts = $4, leased_until = NULL, last_error = $5 {guard}"
                ),
                Recorded::Failed,
            ),
        }
    };
    let at = match outcome {
        Recorded::Retry(at) => at,
        Recorded::Delivered | Recorded::Failed | Recorded::LeaseLost => t,
    };
    let mut values: Vec<sea_orm::Value> = vec![
        due.delivery_id.into(),
        due.lease_id.into(),
        at.into(),
        attempts.into(),
    ];
    if !delivered {
        values.push(error.into());
    }
    if db::execute(&tx, &sql, values).await? == 0 {
        tx.commit().await?;
        return Ok(Recorded::LeaseLost);
    }
    if delivered {
        db::execute(
            &tx,
            "UPDATE webhook_endpoints SET failing_since = NULL \
             WHERE id = $1 AND failing_since IS NOT NULL",
            [due.endpoint_id.into()],
        )
        .await?;
    } else if gone {
        disable(&tx, due.endpoint_id, DisabledReason::Gone, t).await?;
    } else {
        db::execute(
            &tx,
            "UPDATE webhook_endpoints SET failing_since = $1 \
             WHERE id = $2 AND failing_since IS NULL",
            [t.into(), due.endpoint_id.into()],
        )
        .await?;
        let cut = t - policy.disable_after;
        if db::exists(
            &tx,
            "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND disabled = FALSE \
             AND failing_since <= $2",
            [due.endpoint_id.into(), cut.into()],
        )
        .await?
        {
            disable(&tx, due.endpoint_id, DisabledReason::Failing, t).await?;
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

#[derive(FromQueryResult)]
struct Admin {
    id: Uuid,
    email: String,
    display_name: String,
}

#[derive(FromQueryResult)]
struct Url {
    url: String,
}

/// Disables an endpoint that is enabled; the admins are told by mail
/// (written in this transaction, sent by the mailer).
async fn disable<C: ConnectionTrait>(
    tx: &C,
    endpoint: Uuid,
    why: DisabledReason,
    t: DateTime<Utc>,
) -> Result<()> {
    let n = db::execute(
        tx,
        "UPDATE webhook_endpoints SET disabled = TRUE, disabled_reason = $1, disabled_at = $2, \
         updated_at = $2 WHERE id = $3 AND disabled = FALSE",
        [why.into(), t.into(), endpoint.into()],
    )
    .await?;
    if n == 0 {
        return Ok(());
    }
    tracing::warn!(%endpoint, reason = ?why, "webhook endpoint disabled");
    let url: Option<Url> = db::fetch_one(
        tx,
        "SELECT url FROM webhook_endpoints WHERE id = $1",
        [endpoint.into()],
    )
    .await?;
    let url = url.map(|u| u.url).unwrap_or_default();
    let admins: Vec<Admin> = db::fetch_all(
        tx,
        "SELECT id, email, display_name FROM users \
         WHERE status = 'active' AND CAST(roles AS TEXT) LIKE '%\"admin\"%'",
        [],
    )
    .await?;
    let said = match why {
        DisabledReason::Gone => "it answered 410 Gone",
        DisabledReason::Failing => "every attempt to deliver to it failed for days",
        DisabledReason::Admin => "an admin disabled it",
    };
    for a in admins {
        let m = Mail::webhook_endpoint_disabled(&a.email, &a.display_name, endpoint, &url, said);
        mail::enqueue(tx, Some(a.id), &m).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            schedule: [5, 300, 1800].map(Duration::seconds).to_vec(),
            disable_after: Duration::days(5),
            jitter: true,
        }
    }

    #[test]
    fn waits_follow_the_schedule_within_a_fifth_and_end_with_it() {
        let failed = Answer {
            status: Some(500),
            ..Answer::default()
        };
        for (attempts, base) in [(1, 5_000), (2, 300_000), (3, 1_800_000)] {
            let w = next_wait(&policy(), attempts, &failed).map(|w| w.num_milliseconds());
            let w = w.unwrap_or(-1);
            assert!(
                (base * 8 / 10..=base * 12 / 10).contains(&w),
                "{attempts}: {w}"
            );
        }
        assert_eq!(next_wait(&policy(), 4, &failed), None);
    }

    #[test]
    fn retry_after_is_honoured_on_429_and_503_only() {
        let asked = |status| Answer {
            status: Some(status),
            retry_after: Some(Duration::seconds(42)),
            ..Answer::default()
        };
        for s in [429, 503] {
            assert_eq!(
                next_wait(&policy(), 1, &asked(s)),
                Some(Duration::seconds(42))
            );
        }
        let w = next_wait(&policy(), 1, &asked(500)).unwrap_or_default();
        assert!(w < Duration::seconds(7));
    }
}

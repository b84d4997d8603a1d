//! The session cache's revocations between instances: each revocation is
//! published on `{prefix}:session-revocations` (`announce`) and waits for
//! every subscribed instance's acknowledgement; each instance's subscriber
//! (`subscribe`) drops the person's entries, then acknowledges, and keeps
//! the cache off while it is not subscribed.

use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use futures::StreamExt;
use prometheus::{IntCounter, IntGauge};
use redis::aio::ConnectionManager;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{Entries, RedisLink};

/// Attempts to announce a revocation.
const ANNOUNCE_ATTEMPTS: u32 = 3;
/// How long a revocation waits for every instance to confirm it.
const ACK_WAIT: Duration = Duration::from_secs(2);
/// How long a (re)subscription may take, and the pause between attempts.
pub(super) const SUBSCRIBE_TIMEOUT: Duration = Duration::from_millis(500);
const RESUBSCRIBE_PAUSE: Duration = Duration::from_millis(200);
/// How long an acknowledgement list lives in Redis.
const ACK_KEEP_SECONDS: u64 = 60;

/// Publishes a revocation of `user` and waits until every subscribed
/// instance has confirmed it; a failure is logged and counted in
/// `marks_failed` (such instances may keep the person's sessions for at
/// most `ttl`).
pub(super) async fn announce(
    link: &RedisLink,
    user: Uuid,
    ttl: Duration,
    marks_failed: &IntCounter,
) {
    let ack = format!("{}:session-ack:{}", link.prefix, Uuid::new_v4());
    let message = format!("{user} {ack}");
    let mut receivers = None;
    for attempt in 1..=ANNOUNCE_ATTEMPTS {
        let mut conn = link.conn.clone();
        let res: redis::RedisResult<u64> = redis::cmd("PUBLISH")
            .arg(channel(&link.prefix))
            .arg(&message)
            .query_async(&mut conn)
            .await;
        match res {
            Ok(n) => {
                receivers = Some(n);
                break;
            }
            Err(e) if attempt == ANNOUNCE_ATTEMPTS => {
                marks_failed.inc();
                tracing::error!(%user, error = %e, ttl_seconds = ttl.as_secs(),
                    "session cache: cannot announce a revocation in Redis; other instances \
                     may accept this person's sessions until their entries expire");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await,
        }
    }
    if let Some(n) = receivers
        && let Err(confirmed) = wait_for_acks(&link.conn, &ack, n).await
    {
        marks_failed.inc();
        tracing::error!(%user, receivers = n, confirmed, ttl_seconds = ttl.as_secs(),
            "session cache: not every instance confirmed a revocation in time; those may \
             accept this person's sessions until their entries expire");
    }
}

fn channel(prefix: &str) -> String {
    format!("{prefix}:session-revocations")
}

/// Waits until `expected` instances have acknowledged; on timeout, how many
/// did.
async fn wait_for_acks(conn: &ConnectionManager, ack: &str, expected: u64) -> Result<(), u64> {
    let deadline = Instant::now() + ACK_WAIT;
    let mut pause = Duration::from_micros(250);
    let mut confirmed = 0;
    loop {
        let mut conn = conn.clone();
        if let Ok(n) = redis::cmd("LLEN")
            .arg(ack)
            .query_async::<u64>(&mut conn)
            .await
        {
            confirmed = n;
        }
        if confirmed >= expected {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(ack).query_async(&mut conn).await;
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(confirmed);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The instance's subscriber: keeps a subscription to the revocations'
/// channel, drops the entries of each person announced and then confirms,
/// and turns the cache off (emptied) whenever the subscription is not
/// confirmed. Ends when the cache is dropped.
pub(super) async fn subscribe(
    link: RedisLink,
    entries: Weak<Mutex<Entries>>,
    on: IntGauge,
    mut stop: oneshot::Receiver<()>,
) {
    let channel = channel(&link.prefix);
    let set_live = |live: bool| {
        let Some(entries) = entries.upgrade() else {
            return false;
        };
        if let Ok(mut e) = entries.lock() {
            e.start_over();
            e.live = live;
        }
        on.set(i64::from(live));
        true
    };
    let mut warned = false;
    loop {
        let connect = async {
            let mut pubsub = link.client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(SUBSCRIBE_TIMEOUT, connect).await {
            Ok(Ok(pubsub)) => {
                if !set_live(true) {
                    return;
                }
                if warned {
                    tracing::info!("session cache: subscribed again; the cache is on");
                }
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        msg = messages.next() => match msg {
                            Some(msg) => {
                                let payload: String = msg.get_payload().unwrap_or_default();
                                if !on_revocation(&entries, &link.conn, &payload) {
                                    return;
                                }
                            }
                            None => break,
                        },
                        _ = &mut stop => return,
                    }
                }
                if !set_live(false) {
                    return;
                }
                tracing::warn!(
                    "session cache: lost the revocations' subscription; checking sessions in the database"
                );
                warned = true;
            }
            Ok(Err(e)) if !warned => {
                tracing::warn!(error = %e, "session cache: cannot subscribe to revocations; checking sessions in the database");
                warned = true;
            }
            Err(_) if !warned => {
                tracing::warn!(
                    "session cache: subscribing to revocations timed out; checking sessions in the database"
                );
                warned = true;
            }
            Ok(Err(_)) | Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(RESUBSCRIBE_PAUSE) => {}
            _ = &mut stop => return,
        }
    }
}

/// Drops the announced person's entries (all entries if the message cannot
/// be read), then confirms (on a task of its own: the next message need not
/// wait for Redis's answer). False once the cache is gone.
fn on_revocation(entries: &Weak<Mutex<Entries>>, conn: &ConnectionManager, payload: &str) -> bool {
    let (user, ack) = payload.split_once(' ').unwrap_or((payload, ""));
    let Some(entries) = entries.upgrade() else {
        return false;
    };
    if let Ok(mut e) = entries.lock() {
        match user.parse::<Uuid>() {
            Ok(user) => e.revoke(user),
            Err(_) => e.start_over(),
        }
    }
    drop(entries);
    if !ack.is_empty() {
        let mut conn = conn.clone();
        let ack = ack.to_owned();
        tokio::spawn(async move {
            let _: redis::RedisResult<()> = redis::pipe()
                .cmd("RPUSH")
                .arg(&ack)
                .arg(1)
                .ignore()
                .cmd("EXPIRE")
                .arg(&ack)
                .arg(ACK_KEEP_SECONDS)
                .ignore()
                .query_async(&mut conn)
                .await;
        });
    }
    true
}

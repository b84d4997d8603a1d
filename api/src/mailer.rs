//! Sends the mail outbox (see `kartel_domain::mail`): over SMTP with lettre
//! when `KARTEL_SMTP_URL` is set, to the log otherwise. Every instance runs
//! one mailer; a request that wrote mail pokes its own, and each polls for
//! mail written elsewhere or due for a retry. A failed hand-off is tried
//! again with doubling delays (never dropped); a permanent refusal by the
//! server (5xx) is kept as failed, with its error.

use std::sync::Arc;
use std::time::Duration;

use kartel_domain::mail::{self, Outgoing};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use prometheus::IntCounter;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::configuration::Settings;

/// How long a sender holds a message before another may take it: longer
/// than the worst hand-off (each SMTP step times out after
/// `SMTP_TIMEOUT_SECONDS`), so a message is taken by one sender at a time.
const LEASE_SECONDS: i64 = 300;
const SMTP_TIMEOUT_SECONDS: u64 = 15;
/// A permanent refusal (5xx) is believed after this many attempts: a
/// misconfigured server (bad credentials, a policy) refuses everything for
/// a while, and that must not fail every message for good.
const PERMANENT_AFTER_ATTEMPTS: i32 = 5;
/// The longest wait between attempts.
const MAX_BACKOFF_SECONDS: u64 = 3600;

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Log,
}

pub struct Mailer {
    wake: Notify,
    /// Set when the instance shuts down: the mailer stops between messages.
    stopping: std::sync::atomic::AtomicBool,
    transport: Transport,
    from: Mailbox,
    db: DatabaseConnection,
    /// How often it looks at the outbox, and the first retry's wait.
    poll: Duration,
    retry_seconds: u64,
    /// `kartel_mailer_polls_total`.
    polls: IntCounter,
}

/// How a hand-off ended.
enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
}

impl Mailer {
    /// Checked at start-up (`Settings::validate`), so this only fails on a
    /// setting changed since. `polls` counts its looks at the outbox.
    pub fn new(
        settings: &Settings,
        db: DatabaseConnection,
        polls: IntCounter,
    ) -> anyhow::Result<Self> {
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(Box::new(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| anyhow::anyhow!("invalid setting KARTEL_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(SMTP_TIMEOUT_SECONDS)))
                    .build(),
            )),
            None => Transport::Log,
        };
        let from = settings
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid setting KARTEL_MAIL_FROM: {e}"))?;
        Ok(Self {
            wake: Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            transport,
            from,
            db,
            poll: Duration::from_millis(settings.mail_poll_millis),
            retry_seconds: settings.mail_retry_seconds,
            polls,
        })
    }

    /// Mail was written: send it now rather than at the next poll.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Asks the mailer to stop after the message in hand (never inside a
    /// hand-off: a message the server accepted is marked sent first).
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn hand_off(&self, m: &Outgoing) -> Outcome {
        let to: Mailbox = match m.to_address.parse() {
            Ok(to) => to,
            Err(e) => return Outcome::Failed(format!("bad recipient address: {e}")),
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            // One id per message, whichever attempt delivers it.
            .message_id(Some(format!("<{}@kartel>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone());
        let message = match message {
            Ok(msg) => msg,
            Err(e) => return Outcome::Failed(format!("cannot build the message: {e}")),
        };
        match &self.transport {
            Transport::Log => {
                tracing::info!(
                    to = %m.to_address,
                    subject = %m.subject,
                    kind = %m.kind,
                    body = ?m.body,
                    "mail (KARTEL_SMTP_URL is not set: logged instead of sent)"
                );
                Outcome::Sent
            }
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Outcome::Sent,
                Err(e) if e.is_permanent() && m.attempts + 1 >= PERMANENT_AFTER_ATTEMPTS => {
                    Outcome::Failed(e.to_string())
                }
                Err(e) => Outcome::Retry(e.to_string()),
            },
        }
    }
}

/// Starts the mailer of this instance; `Mailer::stop` ends it (await the
/// handle to let the message in hand finish).
pub fn spawn(mailer: Arc<Mailer>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            send_due(&mailer).await;
            mailer.polls.inc();
            if mailer.is_stopping() {
                return;
            }
            tokio::select! {
                _ = mailer.wake.notified() => {}
                _ = tokio::time::sleep(mailer.poll) => {}
            }
        }
    })
}

/// Sends what is due, one message per lease, until nothing is due, the
/// server refuses for now, or the instance stops.
async fn send_due(mailer: &Mailer) {
    let lease = chrono::Duration::seconds(LEASE_SECONDS);
    while !mailer.is_stopping() {
        let m = match mail::take_next(&mailer.db, lease).await {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "mailer: cannot read the outbox");
                return;
            }
        };
        match mailer.hand_off(&m).await {
            Outcome::Sent => record_sent(&mailer.db, &m).await,
            Outcome::Retry(error) => {
                let wait = backoff(mailer.retry_seconds, m.attempts);
                tracing::warn!(id = %m.id, attempts = m.attempts + 1, retry_in_seconds = wait, %error, "mail not handed off; will retry");
                let at = kartel_domain::now() + chrono::Duration::seconds(wait as i64);
                if let Err(e) = mail::mark_retry(&mailer.db, &m, &error, at).await {
                    tracing::warn!(id = %m.id, error = %e, "mailer: cannot record the retry (the lease runs out and it is tried again)");
                }
                // The server is refusing for now: wait for the next poll.
                return;
            }
            Outcome::Failed(error) => {
                tracing::error!(id = %m.id, to = %m.to_address, %error, "mail refused for good");
                if let Err(e) = mail::mark_failed(&mailer.db, &m, &error).await {
                    tracing::warn!(id = %m.id, error = %e, "mailer: cannot record the refusal");
                }
            }
        }
    }
}

/// The server accepted `m`: it must be marked sent, or it would go out again
/// when the lease ends. Tried until it lands (well within the lease).
async fn record_sent(db: &DatabaseConnection, m: &Outgoing) {
    let mut wait = Duration::from_millis(100);
    for _ in 0..12 {
        match mail::mark_sent(db, m).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(id = %m.id, error = %e, "mailer: cannot mark a sent message yet; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(20));
            }
        }
    }
    tracing::error!(id = %m.id, "mailer: a sent message could not be marked sent; it may go out again");
}

/// `base`, doubled per earlier attempt, at most an hour.
fn backoff(base: u64, attempts: i32) -> u64 {
    let doublings = u32::try_from(attempts).unwrap_or(0).min(12);
    base.saturating_mul(1 << doublings).min(MAX_BACKOFF_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        assert_eq!(backoff(10, 0), 10);
        assert_eq!(backoff(10, 1), 20);
        assert_eq!(backoff(10, 3), 80);
        assert_eq!(backoff(10, 40), 3600);
        assert_eq!(backoff(0, 5), 0);
    }
}

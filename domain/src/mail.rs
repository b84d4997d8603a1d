//! Mail that is never lost: a message is a `mail_outbox` row written in the
//! transaction that causes it (a registration, a reset request), so it
//! exists exactly when its cause committed. The API's mailer takes due
//! messages under a lease, hands each to the mail server, and marks it
//! sent; a failed hand-off is tried again with backoff. Of several senders
//! (instances) one holds a message's lease at a time; a message is sent
//! again only if its sender died between the server's acceptance and the
//! mark (the message keeps one `Message-ID`, so the receiving side can tell).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use uuid::Uuid;

use crate::db;
use crate::error::Result;
use crate::{new_id, now};

/// Where the links in mails point: the portal's address (`KARTEL_PUBLIC_URL`).
#[derive(Debug, Clone)]
pub struct Links {
    public_url: String,
}

impl Links {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// `<public url><path>?token=<token>`.
    fn with_token(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_url)
    }
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mail {
    pub fn verify_email(links: &Links, to: &str, display_name: &str, token: &str) -> Self {
        let link = links.with_token("/verify-email", token);
        Self {
            kind: "verify_email",
            to: to.to_owned(),
            subject: "Confirm your email address".into(),
            body: format!(
                "Hello {display_name},\n\nconfirm that this address is yours by opening\n\n{link}\n\n\
                 The link works once and for 48 hours. If you did not sign up to the Kartel \
                 community, ignore this mail.\n"
            ),
        }
    }

    pub fn password_reset(links: &Links, to: &str, display_name: &str, token: &str) -> Self {
        let link = links.with_token("/reset-password", token);
        Self {
            kind: "password_reset",
            to: to.to_owned(),
            subject: "Reset your password".into(),
            body: format!(
                "Hello {display_name},\n\nsomeone asked to reset the password of your Kartel \
                 account. To choose a new one, open\n\n{link}\n\nThe link works once and for 30 \
                 minutes; choosing a new password signs you out everywhere. If it was not you, \
                 ignore this mail: your password stays as it is.\n"
            ),
        }
    }

    pub fn email_change_requested(to_old: &str, display_name: &str, new: &str) -> Self {
        Self {
            kind: "email_change_notice",
            to: to_old.to_owned(),
            subject: "Your email address is being changed".into(),
            body: format!(
                "Hello {display_name},\n\nsomeone signed in to your Kartel account asked to \
                 change its email address to {new}. The change happens when that address is \
                 confirmed. If it was not you, change your password now and tell the community \
                 team.\n"
            ),
        }
    }
}

impl Mail {
    /// To an admin: a webhook endpoint was disabled (`why` says by what).
    pub fn webhook_endpoint_disabled(
        to: &str,
        display_name: &str,
        endpoint: uuid::Uuid,
        url: &str,
        why: &str,
    ) -> Self {
        Self {
            kind: "webhook_disabled",
            to: to.to_owned(),
            subject: "A webhook endpoint was disabled".into(),
            body: format!(
                "Hello {display_name},\n\nthe webhook endpoint {endpoint} ({url}) was disabled: \
                 {why}. Nothing is sent to it until an admin enables it again \
                 (PATCH /api/v1/webhooks/endpoints/{endpoint} with disabled: false); what it \
                 missed can then be sent with POST /api/v1/webhooks/endpoints/{endpoint}/recover.\n"
            ),
        }
    }
}

/// Writes `mail` to the outbox in the caller's transaction; `user` is whose
/// mail it is (erasure deletes it).
pub async fn enqueue<C: ConnectionTrait>(db: &C, user: Option<Uuid>, mail: &Mail) -> Result<Uuid> {
    let id = new_id();
    let t = now();
    db::execute(
        db,
        "INSERT INTO mail_outbox (id, user_id, kind, to_address, subject, body, created_at, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $7)",
        [
            id.into(),
            user.into(),
            mail.kind.into(),
            mail.to.clone().into(),
            mail.subject.clone().into(),
            mail.body.clone().into(),
            t.into(),
        ],
    )
    .await?;
    Ok(id)
}

/// A message taken for sending.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Outgoing {
    pub id: Uuid,
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
    pub lock_id: Option<Uuid>,
}

/// Takes the next due message for `lease`: none is taken by two senders at
/// once (a guarded update; a lease that ran out is taken again).
pub async fn take_next(db: &DatabaseConnection, lease: Duration) -> Result<Option<Outgoing>> {
    let t = now();
    let lock = new_id();
    db::fetch_one(
        db,
        "UPDATE mail_outbox SET locked_until = $1, lock_id = $2 \
         WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                      AND next_attempt_at <= $3 AND (locked_until IS NULL OR locked_until < $3) \
                      ORDER BY next_attempt_at LIMIT 1) \
         AND sent_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until < $3) \
         RETURNING id, kind, to_address, subject, body, attempts, lock_id",
        [(t + lease).into(), lock.into(), t.into()],
    )
    .await
    .map_err(Into::into)
}

/// How long sent (or refused) mail is kept, for support questions; its
/// tokens have expired long before.
pub const KEEP_SENT_DAYS: i64 = 7;

/// Deletes mail sent or refused more than `KEEP_SENT_DAYS` ago.
pub async fn forget_sent(db: &DatabaseConnection) -> Result<u64> {
    let before = now() - Duration::days(KEEP_SENT_DAYS);
    Ok(db::execute(
        db,
        "DELETE FROM mail_outbox WHERE sent_at < $1 OR failed_at < $1",
        [before.into()],
    )
    .await?)
}

/// What stays of a body once it is handed off: every link's token is
/// replaced, so no live token sits at rest (only its digest, in
/// `account_tokens`, redeems it).
pub fn without_tokens(body: &str) -> String {
    const MARK: &str = "token=";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find(MARK) {
        let (head, tail) = rest.split_at(i + MARK.len());
        out.push_str(head);
        out.push_str("[removed once sent]");
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The server accepted the message: it is never sent again, and its
/// tokens are blanked.
pub async fn mark_sent(db: &DatabaseConnection, m: &Outgoing) -> Result<()> {
    db::execute(
        db,
        "UPDATE mail_outbox SET sent_at = $1, locked_until = NULL, attempts = attempts + 1, last_error = NULL, \
         body = $3 WHERE id = $2 AND sent_at IS NULL",
        [now().into(), m.id.into(), without_tokens(&m.body).into()],
    )
    .await?;
    Ok(())
}

/// The hand-off failed for now: tried again at `retry_at`.
pub async fn mark_retry(
    db: &DatabaseConnection,
    m: &Outgoing,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<()> {
    db::execute(
        db,
        "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $1, locked_until = NULL, last_error = $2 \
         WHERE id = $3 AND lock_id = $4 AND sent_at IS NULL",
        [
            retry_at.into(),
            error.chars().take(1000).collect::<String>().into(),
            m.id.into(),
            m.lock_id.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The server refused the message for good (a permanent SMTP error); its
/// tokens are blanked too.
pub async fn mark_failed(db: &DatabaseConnection, m: &Outgoing, error: &str) -> Result<()> {
    db::execute(
        db,
        "UPDATE mail_outbox SET attempts = attempts + 1, failed_at = $1, locked_until = NULL, last_error = $2, \
         body = $5 WHERE id = $3 AND lock_id = $4 AND sent_at IS NULL",
        [
            now().into(),
            error.chars().take(1000).collect::<String>().into(),
            m.id.into(),
            m.lock_id.into(),
            without_tokens(&m.body).into(),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::without_tokens;

    #[test]
    fn every_token_of_a_body_is_blanked_and_the_rest_kept() {
        let body =
            "Hello,\n\nhttps://p.example/verify-email?token=ve_abc-DEF_1\n\nand token=pr_x end";
        assert_eq!(
            without_tokens(body),
            "Hello,\n\nhttps://p.example/verify-email?token=[removed once sent]\n\nand token=[removed once sent] end"
        );
        assert_eq!(without_tokens("no link"), "no link");
        assert_eq!(without_tokens("token="), "token=[removed once sent]");
    }
}

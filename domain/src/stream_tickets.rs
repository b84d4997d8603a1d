//! Stream tickets: a browser's `EventSource` cannot send an
//! `Authorization` header, so a signed-in person first asks for a ticket
//! and opens the live stream with `?ticket=`. A ticket is single-use, valid
//! for [`TICKET_SECONDS`], and stands for the session that asked for it (the
//! stream then lasts as long as that session and account do). Stored as a
//! SHA-256 digest in `stream_tickets`, so any instance redeems it; redeemed
//! with one guarded update, so of two redemptions one wins.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::UserCaller;
use crate::db;
use crate::error::Result;
use crate::{new_id, now, secret};

/// How long a ticket may wait to be used.
pub const TICKET_SECONDS: i64 = 60;
/// What every ticket starts with.
const PREFIX: &str = "kst_";

/// A ticket, shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StreamTicket {
    /// Send it once as `GET /api/v1/stream?ticket=…`.
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// A new ticket for `caller`'s session.
pub async fn issue(db: &DatabaseConnection, caller: &UserCaller) -> Result<StreamTicket> {
    let ticket = secret::generate(PREFIX)?;
    let at = now();
    let expires_at = at + Duration::seconds(TICKET_SECONDS);
    db::execute(
        db,
        "INSERT INTO stream_tickets (id, token_hash, user_id, session_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            new_id().into(),
            secret::digest(&ticket).into(),
            caller.id.into(),
            caller.session_id.into(),
            at.into(),
            expires_at.into(),
        ],
    )
    .await?;
    Ok(StreamTicket { ticket, expires_at })
}

/// Whose session a ticket stands for.
#[derive(Debug, Clone, Copy, FromQueryResult)]
pub struct Redeemed {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// Uses `ticket` up: its person and session, or `None` when it is unknown,
/// used already or expired. The session itself is the caller's to check.
pub async fn redeem(db: &DatabaseConnection, ticket: &str) -> Result<Option<Redeemed>> {
    if !ticket.starts_with(PREFIX) {
        return Ok(None);
    }
    Ok(db::fetch_one(
        db,
        "UPDATE stream_tickets SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, session_id",
        [now().into(), secret::digest(ticket).into()],
    )
    .await?)
}

/// Deletes tickets expired more than an hour ago (the job's upkeep).
pub async fn sweep(db: &DatabaseConnection) -> Result<u64> {
    Ok(db::execute(
        db,
        "DELETE FROM stream_tickets WHERE expires_at < $1",
        [(now() - Duration::hours(1)).into()],
    )
    .await?)
}

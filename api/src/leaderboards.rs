//! Leaderboards served from a cache: Redis sorted sets when Redis is
//! configured (shared by every instance), in process otherwise. The
//! database stays the source of truth: a missing board (flushed, expired,
//! never built) is rebuilt from it, and while Redis is down boards are read
//! from the database directly.
//!
//! Every review bumps the challenge's generation; a board is stored under
//! its generation, so a board built from a snapshot older than a review is
//! never read again (it expires). Members sort by `-score`, then
//! lexicographically by the submission's time-ordered id: a tie goes to the
//! earlier submission, as the domain ranks them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kartel_domain::challenges::{LeaderboardEntry, all_standings};
use kartel_domain::error::Result;
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// How long a built board is kept (a safety net: a missed bump heals by then).
const TTL_SECONDS: u64 = 300;

/// A built board, shared by the readers of one instance.
type Board = Arc<Vec<LeaderboardEntry>>;

pub enum Leaderboards {
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
    /// Per challenge: its generation and, once built, its board.
    Memory(Mutex<HashMap<Uuid, (u64, Option<Board>)>>),
}

impl Leaderboards {
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    /// `limit` places from `offset`, from the cache or rebuilt from `db`.
    pub async fn page(
        &self,
        db: &DatabaseConnection,
        challenge: Uuid,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<LeaderboardEntry>> {
        match self {
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                match redis_page(&mut conn, prefix, db, challenge, offset, limit).await {
                    Ok(items) => Ok(items),
                    Err(Fallback::Redis(e)) => {
                        tracing::warn!(error = %e, "leaderboard cache: Redis unavailable; reading the database");
                        let all = all_standings(db, challenge).await?;
                        Ok(slice(&all, offset, limit))
                    }
                    Err(Fallback::Domain(e)) => Err(e),
                }
            }
            Self::Memory(boards) => {
                let (generation, cached) = {
                    let boards = boards.lock().map_err(|_| poisoned())?;
                    boards.get(&challenge).cloned().unwrap_or((0, None))
                };
                if let Some(board) = cached {
                    return Ok(slice(&board, offset, limit));
                }
                let board = Arc::new(all_standings(db, challenge).await?);
                let mut boards = boards.lock().map_err(|_| poisoned())?;
                let entry = boards.entry(challenge).or_insert((generation, None));
                // Stored only if no review landed while it was being built.
                if entry.0 == generation {
                    entry.1 = Some(board.clone());
                }
                Ok(slice(&board, offset, limit))
            }
        }
    }

    /// A review changed the standings of `challenge`.
    pub async fn changed(&self, challenge: Uuid) {
        match self {
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let res: redis::RedisResult<u64> = redis::cmd("INCR")
                    .arg(generation_key(prefix, challenge))
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = res {
                    tracing::error!(error = %e, %challenge, "leaderboard cache: could not mark a board stale; it heals within its TTL");
                }
            }
            Self::Memory(boards) => {
                if let Ok(mut boards) = boards.lock() {
                    let entry = boards.entry(challenge).or_insert((0, None));
                    *entry = (entry.0 + 1, None);
                }
            }
        }
    }
}

fn poisoned() -> kartel_domain::DomainError {
    kartel_domain::DomainError::bug("the leaderboard cache lock is poisoned")
}

fn slice(all: &[LeaderboardEntry], offset: u64, limit: u64) -> Vec<LeaderboardEntry> {
    all.iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .cloned()
        .collect()
}

fn generation_key(prefix: &str, challenge: Uuid) -> String {
    format!("{prefix}:lbgen:{challenge}")
}

enum Fallback {
    Redis(redis::RedisError),
    Domain(kartel_domain::DomainError),
}

impl From<redis::RedisError> for Fallback {
    fn from(e: redis::RedisError) -> Self {
        Self::Redis(e)
    }
}

/// One member per place: `<submission id> <talent id> <handle>`, scored `-score`.
fn member(e: &LeaderboardEntry) -> String {
    format!("{} {} {}", e.submission_id, e.talent_id, e.handle)
}

fn entry(rank: u64, member: &str, score: f64) -> Option<LeaderboardEntry> {
    let mut parts = member.splitn(3, ' ');
    Some(LeaderboardEntry {
        rank: i64::try_from(rank).ok()?,
        submission_id: parts.next()?.parse().ok()?,
        talent_id: parts.next()?.parse().ok()?,
        handle: parts.next()?.to_owned(),
        score: -score,
    })
}

async fn redis_page(
    conn: &mut ConnectionManager,
    prefix: &str,
    db: &DatabaseConnection,
    challenge: Uuid,
    offset: u64,
    limit: u64,
) -> std::result::Result<Vec<LeaderboardEntry>, Fallback> {
    let generation: Option<u64> = redis::cmd("GET")
        .arg(generation_key(prefix, challenge))
        .query_async(conn)
        .await?;
    let key = format!("{prefix}:lb:{challenge}:{}", generation.unwrap_or(0));
    let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(conn).await?;
    if !exists {
        let all = all_standings(db, challenge)
            .await
            .map_err(Fallback::Domain)?;
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        // An empty board is remembered too, with a marker no place can be.
        pipe.cmd("ZADD").arg(&key).arg("+inf").arg("~").ignore();
        for chunk in all.chunks(1000) {
            let mut zadd = redis::cmd("ZADD");
            zadd.arg(&key);
            for e in chunk {
                zadd.arg(-e.score).arg(member(e));
            }
            pipe.add_command(zadd).ignore();
        }
        pipe.cmd("EXPIRE").arg(&key).arg(TTL_SECONDS).ignore();
        pipe.query_async::<()>(conn).await?;
    }
    if limit == 0 {
        return Ok(Vec::new());
    }
    let end = offset.saturating_add(limit) - 1;
    let rows: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(&key)
        .arg(offset)
        .arg(end)
        .arg("WITHSCORES")
        .query_async(conn)
        .await?;
    Ok(rows
        .iter()
        .zip(offset + 1..)
        .filter(|((m, _), _)| m != "~")
        .filter_map(|((m, s), rank)| entry(rank, m, *s))
        .collect())
}

//! Blind review: while a challenge is judging, whoever may review its work
//! sees each submission under an alias instead of its talent (the rule is
//! `policy::sees_author`). The alias is stable within the challenge and
//! tells nothing across challenges: `Talent-` and the first hex digits of
//! SHA-256 over the challenge's secret key (`challenges.blind_key`, never
//! shown), the challenge id and the talent id.

use sea_orm::{ConnectionTrait, FromQueryResult};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ChallengeStatus;
use crate::caller::Caller;
use crate::db;
use crate::error::{DomainError, Result};
use crate::policy;

/// How a reader sees the authors of one challenge's submissions.
pub(super) enum Authors {
    /// As they are.
    Shown,
    /// Under aliases made with the challenge's key.
    Blind { challenge: Uuid, key: String },
}

impl Authors {
    /// The alias of `talent`'s work for this reader, or `None` when the
    /// reader sees the talent.
    pub(super) fn alias(&self, talent: Uuid) -> Option<String> {
        match self {
            Self::Shown => None,
            Self::Blind { challenge, key } => Some(alias(key, *challenge, talent)),
        }
    }

    /// For the rows a list shows: per row, whether its reader sees its
    /// talent (their own work, always).
    pub(super) fn alias_for(&self, caller: Option<&Caller>, talent: Uuid) -> Option<String> {
        if caller.and_then(Caller::user_id) == Some(talent) {
            None
        } else {
            self.alias(talent)
        }
    }
}

/// How `caller` sees the author of `talent`'s work in challenge
/// `challenge` (status `status`).
pub(super) async fn authors<C: ConnectionTrait>(
    db: &C,
    caller: Option<&Caller>,
    challenge: Uuid,
    status: ChallengeStatus,
    talent: Uuid,
) -> Result<Authors> {
    let under_review = status == ChallengeStatus::Judging;
    if policy::sees_author(caller, talent, under_review) {
        Ok(Authors::Shown)
    } else {
        blind(db, challenge).await
    }
}

/// The blind view of a challenge's work.
pub(super) async fn blind<C: ConnectionTrait>(db: &C, challenge: Uuid) -> Result<Authors> {
    Ok(Authors::Blind {
        challenge,
        key: key_of(db, challenge).await?,
    })
}

#[derive(FromQueryResult)]
struct KeyRow {
    blind_key: Option<String>,
}

async fn key_of<C: ConnectionTrait>(db: &C, challenge: Uuid) -> Result<String> {
    db::fetch_one::<KeyRow, _>(
        db,
        "SELECT blind_key FROM challenges WHERE id = $1",
        [challenge.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("challenge"))?
    .blind_key
    .ok_or_else(|| DomainError::bug("a challenge without its blind key"))
}

/// A new challenge's secret key.
pub(super) fn new_key() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// The alias of `talent`'s work in `challenge`: 40 bits of a keyed hash,
/// so two talents of one challenge share one only by a one-in-a-trillion
/// chance per pair.
pub fn alias(key: &str, challenge: Uuid, talent: Uuid) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(challenge.as_bytes());
    h.update(talent.as_bytes());
    let digest = h.finalize();
    format!("Talent-{}", hex::encode_upper(&digest[..5]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_is_stable_per_challenge_and_unlinkable_across() {
        let (c1, c2, t1, t2) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let (k1, k2) = (new_key().expect("key"), new_key().expect("key"));
        assert_eq!(alias(&k1, c1, t1), alias(&k1, c1, t1));
        assert_ne!(alias(&k1, c1, t1), alias(&k1, c1, t2));
        assert_ne!(alias(&k1, c1, t1), alias(&k2, c2, t1));
        assert!(alias(&k1, c1, t1).starts_with("Talent-"));
        assert!(!alias(&k1, c1, t1).contains(&t1.simple().to_string()[..8]));
    }
}

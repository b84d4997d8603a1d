//! The attention list: talents an admin must look at, because the rules
//! stop short of deciding for them — today, a Tier 5 talent whose
//! certificate's evidence was overturned with no other evidence to stand on
//! (nothing happens to their placement or tier by itself). One stored row
//! per talent, track and reason while open (`talent_attention`); an entry
//! clears when the certificate is revoked (an admin's demotion below Tier
//! 4, or erasure), when the evidence is accepted again, or when other
//! evidence is accepted and the certificate re-issued on it.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db;
use crate::error::Result;
use crate::types::Track;
use crate::{new_id, now};

/// Why a talent is on the attention list.
pub(crate) const EVIDENCE_OVERTURNED: &str = "evidence_overturned";

/// One talent an admin must look at.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct AttentionItem {
    pub talent_id: Uuid,
    pub handle: String,
    pub track: Track,
    /// The talent's tier in the track now.
    pub tier: i16,
    /// `evidence_overturned`: the submission the certificate cites was
    /// overturned to rejected and nothing else can stand as evidence.
    #[schema(example = "evidence_overturned")]
    pub reason: String,
    /// The overturned submission.
    #[schema(required = true)]
    pub submission_id: Option<Uuid>,
    /// The certificate that cites it (still valid until an admin decides).
    #[schema(required = true)]
    pub certificate_id: Option<Uuid>,
    /// Whether the talent's account is suspended now.
    pub suspended: bool,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// Puts the talent on the list for `track` (once: an open entry stays as it is).
pub(crate) async fn open<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Track,
    submission: Uuid,
    certificate: Uuid,
) -> Result<()> {
    if is_open(tx, talent, track).await? {
        return Ok(());
    }
    db::execute(
        tx,
        "INSERT INTO talent_attention (id, talent_id, track, reason, submission_id, certificate_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            new_id().into(),
            talent.into(),
            track.into(),
            EVIDENCE_OVERTURNED.into(),
            submission.into(),
            certificate.into(),
            now().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Whether the talent is on the list for `track`.
pub(crate) async fn is_open<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Track,
) -> Result<bool> {
    Ok(db::exists(
        tx,
        "SELECT 1 FROM talent_attention WHERE talent_id = $1 AND track = $2 AND reason = $3 AND cleared_at IS NULL",
        [talent.into(), track.into(), EVIDENCE_OVERTURNED.into()],
    )
    .await?)
}

/// Clears the talent's open entries (of `track`, or of every track) with
/// why; how many.
pub(crate) async fn clear<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Option<Track>,
    why: &str,
) -> Result<u64> {
    let mut b = db::SqlBuilder::new("UPDATE talent_attention SET cleared_at = ");
    let (at, why, who) = (b.bind(now()), b.bind(why.to_owned()), b.bind(talent));
    b.push(&format!(
        "{at}, cleared_reason = {why} WHERE talent_id = {who} AND cleared_at IS NULL"
    ));
    if let Some(t) = track {
        let p = b.bind(t);
        b.push(&format!(" AND track = {p}"));
    }
    Ok(db::execute(tx, &b.sql, b.values).await?)
}

/// The open entries, oldest first (at most `limit`), for the dashboard.
pub async fn attention_list(db: &DatabaseConnection, limit: u64) -> Result<Vec<AttentionItem>> {
    Ok(db::fetch_all(
        db,
        &format!(
            "SELECT a.talent_id, u.handle, a.track, tt.tier, a.reason, a.submission_id, \
             a.certificate_id, u.status = 'suspended' AS suspended, a.created_at AS since \
             FROM talent_attention a JOIN users u ON u.id = a.talent_id \
             JOIN talent_tracks tt ON tt.talent_id = a.talent_id AND tt.track = a.track \
             WHERE a.cleared_at IS NULL ORDER BY a.created_at, a.id LIMIT {limit}"
        ),
        [],
    )
    .await?)
}

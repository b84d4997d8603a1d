//! Conflicts of interest between a reviewer and a submission's talent, read
//! from the records (reviews, nominations, certificates) for the rule in
//! `policy::conflict_of_interest`: when reviewing, when claiming one
//! submission, and as the claim query's filter (the queue never offers a
//! seat its reviewer could not take).

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::caller::Caller;
use crate::db::{self, SqlBuilder};
use crate::error::Result;
use crate::policy::{self, ReviewerRecord};
use crate::types::Track;

/// The submission being reviewed, as the conflict rules need it.
pub(super) struct Reviewed {
    pub submission: Uuid,
    pub talent: Uuid,
    /// The challenge's track (a challenge without one: any track).
    pub track: Option<Track>,
}

/// Refuses `caller` (403 `conflict_of_interest`) a review of `r`: a first
/// review or claim (`replacing` none), or an overturn of review
/// `replacing`.
pub(super) async fn check<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    reviewer: Uuid,
    r: &Reviewed,
    replacing: Option<Uuid>,
) -> Result<()> {
    policy::may_review_work_of(caller, r.talent)?;
    let record = ReviewerRecord {
        reviewed: reviewed(db, reviewer, r.submission, replacing).await?,
        nominated: named(db, "nominations", "nominated_by", reviewer, r).await?,
        certified: named(db, "certificates", "certified_by", reviewer, r).await?,
    };
    policy::conflict_of_interest(caller, r.talent, record)
}

/// A first review: any review of the submission by the reviewer. An
/// overturn: the reviewer holds the current review of another of its seats
/// (replacing one's own review is `same_reviewer`, asked apart).
async fn reviewed<C: ConnectionTrait>(
    db: &C,
    reviewer: Uuid,
    submission: Uuid,
    replacing: Option<Uuid>,
) -> Result<bool> {
    Ok(match replacing {
        None => {
            db::exists(
                db,
                "SELECT 1 FROM reviews WHERE submission_id = $1 AND reviewer_id = $2",
                [submission.into(), reviewer.into()],
            )
            .await?
        }
        Some(review) => {
            db::exists(
                db,
                "SELECT 1 FROM review_seats WHERE submission_id = $1 AND reviewer_id = $2 \
                 AND state = 'filled' AND review_id <> $3",
                [submission.into(), reviewer.into(), review.into()],
            )
            .await?
        }
    })
}

/// Whether `table` (nominations or certificates) has a row of the talent
/// by the reviewer (`by`) in the challenge's track (any, without one).
async fn named<C: ConnectionTrait>(
    db: &C,
    table: &str,
    by: &str,
    reviewer: Uuid,
    r: &Reviewed,
) -> Result<bool> {
    let mut b = SqlBuilder::new(&format!("SELECT 1 FROM {table} WHERE {by} = "));
    let p = b.bind(reviewer);
    b.push(&p);
    let p = b.bind(r.talent);
    b.push(&format!(" AND talent_id = {p}"));
    if let Some(t) = r.track {
        let p = b.bind(t);
        b.push(&format!(" AND track = {p}"));
    }
    Ok(db::exists(db, &b.sql, b.values).await?)
}

/// The claim query's filter on seats `rs` for reviewer `me` at `now` (both
/// placeholders): the conflicts above, and a live claim of another of the
/// submission's seats.
pub(super) fn excluded(me: &str, now: &str) -> String {
    format!(
        " AND rs.talent_id <> {me} \
         AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.submission_id = rs.submission_id AND r.reviewer_id = {me}) \
         AND NOT EXISTS (SELECT 1 FROM review_seats o WHERE o.submission_id = rs.submission_id \
             AND o.claimed_by = {me} AND o.lease_expires_at > {now}) \
         AND NOT EXISTS (SELECT 1 FROM nominations n WHERE n.nominated_by = {me} AND n.talent_id = rs.talent_id \
             AND (rs.track IS NULL OR n.track = rs.track)) \
         AND NOT EXISTS (SELECT 1 FROM certificates x WHERE x.certified_by = {me} AND x.talent_id = rs.talent_id \
             AND (rs.track IS NULL OR x.track = rs.track))"
    )
}

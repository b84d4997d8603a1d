//! Automatic tiers 1–3: what a talent has done (one aggregate read), what
//! each tier asks, and the moves that follow — up one step at a time while
//! the next tier's requirements hold, down only after the track's grace
//! period, never while locked, never for Tier 4 and 5 (manual tiers).
//!
//! Evaluations run when the tier code reacts to what other code announces
//! (`reactions`): a review decision, a profile change, an enrolment. Each
//! evaluation first locks the talent's user row, so concurrent reviews of one talent are evaluated one after
//! the other, each seeing the others' committed work: a promotion is
//! neither lost nor made twice.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult};
use uuid::Uuid;

use super::history::{self, Change};
use super::tracks::{self, Requirement, RequirementKey};
use crate::db;
use crate::error::Result;
use crate::now;
use crate::types::{Tier, Track};

/// Why an evaluation runs; its evidence goes into the tier history.
#[derive(Debug, Clone)]
pub enum Cause {
    Review { submission: Uuid, review: Uuid },
    ProfileChanged,
    Enrolled,
    RequirementsChanged { reevaluation: Uuid },
    GracePeriodEnded,
    Unlocked { by: Uuid },
}

impl Cause {
    fn evidence(&self) -> serde_json::Value {
        match self {
            Cause::Review { submission, review } => {
                serde_json::json!({ "submission_id": submission, "review_id": review })
            }
            Cause::RequirementsChanged { reevaluation } => {
                serde_json::json!({ "reevaluation_id": reevaluation })
            }
            Cause::Unlocked { by } => serde_json::json!({ "unlocked_by": by }),
            _ => serde_json::json!({}),
        }
    }
    fn reason(&self, up: bool) -> &'static str {
        match (self, up) {
            (Cause::Review { .. }, true) => "automatic: a reviewed submission met the requirements",
            (Cause::ProfileChanged, true) => "automatic: the profile is complete",
            (Cause::Enrolled, true) => "automatic: the requirements were met on enrolment",
            (Cause::RequirementsChanged { .. }, true) => {
                "automatic: the track's requirements changed and are met"
            }
            (Cause::Unlocked { .. }, true) => {
                "automatic: the requirements were met when a manager unlocked the track"
            }
            (_, true) => "automatic: the requirements are met",
            (_, false) => {
                "automatic: the requirements of this tier stopped holding and the grace period ended"
            }
        }
    }
}

/// A talent's counts in one track (or in challenges without a track).
#[derive(Debug, Clone, Default, FromQueryResult)]
pub(crate) struct TrackCounts {
    pub track: Option<Track>,
    pub passed: i64,
    pub reviewed: i64,
    pub successful: i64,
}

/// Everything the requirements measure, read once per evaluation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    pub profile_complete: bool,
    pub passed_challenges: i64,
    pub tracks: HashMap<Track, TrackCounts>,
    /// Accepted submissions in challenges that certify each track.
    pub certifying: HashMap<Track, i64>,
}

impl Stats {
    pub fn value(&self, key: RequirementKey, track: Track) -> f64 {
        let t = self.tracks.get(&track).cloned().unwrap_or_default();
        match key {
            RequirementKey::ProfileComplete => f64::from(u8::from(self.profile_complete)),
            RequirementKey::PassedChallenges => self.passed_challenges as f64,
            RequirementKey::PassedTrackChallenges => t.passed as f64,
            RequirementKey::ReviewedBatches => t.reviewed as f64,
            RequirementKey::BulkRunSuccessRate if t.reviewed > 0 => {
                t.successful as f64 / t.reviewed as f64
            }
            RequirementKey::BulkRunSuccessRate => 0.0,
        }
    }

    /// Whether every requirement of tiers 1..=`tier` holds in `track`.
    pub fn holds(&self, reqs: &[Requirement], track: Track, tier: i16) -> bool {
        reqs.iter()
            .filter(|r| r.tier <= tier)
            .all(|r| self.value(r.key, track) >= r.target)
    }

    fn unmet(&self, reqs: &[Requirement], track: Track, tier: i16) -> Vec<&'static str> {
        reqs.iter()
            .filter(|r| r.tier <= tier && self.value(r.key, track) < r.target)
            .map(|r| r.key.as_str())
            .collect()
    }
}

#[derive(FromQueryResult)]
struct Profile {
    display_name: String,
    bio: Option<String>,
    portfolio_links: Option<serde_json::Value>,
}

#[derive(FromQueryResult)]
struct Certifying {
    track: Track,
    accepted: i64,
}

/// Display name, bio and at least one portfolio link.
pub(crate) fn profile_complete(
    name: &str,
    bio: Option<&str>,
    links: Option<&serde_json::Value>,
) -> bool {
    !name.trim().is_empty()
        && bio.is_some_and(|b| !b.trim().is_empty())
        && links
            .and_then(|l| l.as_array())
            .is_some_and(|l| !l.is_empty())
}

/// A talent's measures: the profile, then one aggregate over the talent's
/// reviewed submissions by track, then one over certifying challenges.
pub(crate) async fn stats<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Stats> {
    let profile: Option<Profile> = db::fetch_one(
        db,
        "SELECT display_name, bio, portfolio_links FROM users WHERE id = $1",
        [talent.into()],
    )
    .await?;
    let counts: Vec<TrackCounts> = db::fetch_all(
        db,
        "SELECT c.track, \
           CAST(COUNT(DISTINCT CASE WHEN s.status = 'accepted' THEN s.challenge_id END) AS BIGINT) AS passed, \
           CAST(COUNT(*) AS BIGINT) AS reviewed, \
           CAST(COALESCE(SUM(CASE WHEN s.outputs_meeting_standard >= 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS successful \
         FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
         WHERE s.talent_id = $1 AND s.status IN ('accepted', 'rejected') GROUP BY c.track",
        [talent.into()],
    )
    .await?;
    let certifying: Vec<Certifying> = db::fetch_all(
        db,
        "SELECT c.certifies_track AS track, CAST(COUNT(*) AS BIGINT) AS accepted \
         FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
         WHERE s.talent_id = $1 AND s.status = 'accepted' AND c.certifies_track IS NOT NULL \
         GROUP BY c.certifies_track",
        [talent.into()],
    )
    .await?;
    Ok(Stats {
        profile_complete: profile.as_ref().is_some_and(|p| {
            profile_complete(
                &p.display_name,
                p.bio.as_deref(),
                p.portfolio_links.as_ref(),
            )
        }),
        passed_challenges: counts.iter().map(|c| c.passed).sum(),
        tracks: counts
            .into_iter()
            .filter_map(|c| c.track.map(|t| (t, c)))
            .collect(),
        certifying: certifying
            .into_iter()
            .map(|c| (c.track, c.accepted))
            .collect(),
    })
}

/// A talent's row in one track.
#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct StandingRow {
    pub talent_id: Uuid,
    pub track: Track,
    pub tier: Tier,
    pub locked: bool,
    pub below_since: Option<DateTime<Utc>>,
    pub enrolled_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Serialises every tier decision about one talent: on PostgreSQL a lock on
/// the talent's user row (SQLite serialises writers anyway).
pub(crate) async fn lock_talent<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db::execute(
            db,
            "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
            [talent.into()],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn standings<C: ConnectionTrait>(
    db: &C,
    talent: Uuid,
    track: Option<Track>,
) -> Result<Vec<StandingRow>> {
    let mut b = db::SqlBuilder::new(
        "SELECT talent_id, track, tier, locked, below_since, enrolled_at, updated_at \
         FROM talent_tracks WHERE talent_id = ",
    );
    let p = b.bind(talent);
    b.push(&p);
    if let Some(track) = track {
        let p = b.bind(track);
        b.push(&format!(" AND track = {p}"));
    }
    b.push(" ORDER BY track");
    Ok(db::fetch_all(db, &b.sql, b.values).await?)
}

#[derive(FromQueryResult)]
struct Grace {
    track: Track,
    grace_days: i32,
}

pub(crate) async fn grace_days<C: ConnectionTrait>(db: &C) -> Result<HashMap<Track, i32>> {
    let rows: Vec<Grace> = db::fetch_all(db, "SELECT track, grace_days FROM tracks", []).await?;
    Ok(rows.into_iter().map(|g| (g.track, g.grace_days)).collect())
}

/// Evaluates a talent's automatic tiers (in `track`, or in every track),
/// inside the caller's transaction. Returns how many tracks moved (a tier
/// change, or a grace period starting or ending).
pub async fn evaluate<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Option<Track>,
    cause: &Cause,
) -> Result<u64> {
    lock_talent(tx, talent).await?;
    let rows = standings(tx, talent, track).await?;
    if rows.iter().all(|r| r.locked || r.tier.get() > 3) {
        return Ok(0);
    }
    let stats = stats(tx, talent).await?;
    let reqs = tracks::requirements(tx).await?;
    let graces = grace_days(tx).await?;
    let at = now();
    let mut moved = 0;
    for row in rows.iter().filter(|r| !r.locked && r.tier.get() <= 3) {
        let none = Vec::new();
        let reqs = reqs.get(&row.track).unwrap_or(&none);
        let grace = Duration::days(graces.get(&row.track).copied().unwrap_or(14).into());
        moved += u64::from(step(tx, row, &stats, reqs, grace, cause, at).await?);
    }
    Ok(moved)
}

/// One track's move, if any.
async fn step<C: ConnectionTrait>(
    tx: &C,
    row: &StandingRow,
    stats: &Stats,
    reqs: &[Requirement],
    grace: Duration,
    cause: &Cause,
    at: DateTime<Utc>,
) -> Result<bool> {
    let current = row.tier.get();
    let track = row.track;
    if stats.holds(reqs, track, current) {
        // Up one tier at a time while the next one's requirements hold.
        let mut tier = current;
        while tier < 3 && stats.holds(reqs, track, tier + 1) {
            tier += 1;
        }
        if tier == current {
            if row.below_since.is_some() {
                set_row(tx, row, current, None, at).await?;
                return Ok(true);
            }
            return Ok(false);
        }
        set_row(tx, row, tier, None, at).await?;
        for to in current + 1..=tier {
            let evidence = evidence(cause, stats, reqs, track, to);
            history::record(
                tx,
                Change::automatic(
                    row.talent_id,
                    track,
                    to - 1,
                    to,
                    cause.reason(true),
                    evidence,
                ),
            )
            .await?;
        }
        return Ok(true);
    }
    // Below the current tier's requirements: the grace period starts, and
    // once it has passed the tier drops to the highest that holds.
    let since = row.below_since.unwrap_or(at);
    if at < since + grace {
        if row.below_since.is_none() {
            set_row(tx, row, current, Some(since), at).await?;
            return Ok(true);
        }
        return Ok(false);
    }
    // One tier down; if that one does not hold either, its own grace
    // period starts now.
    let tier = current - 1;
    let next_since = (!stats.holds(reqs, track, tier)).then_some(at);
    set_row(tx, row, tier, next_since, at).await?;
    let mut evidence = cause.evidence();
    evidence["unmet"] = serde_json::json!(stats.unmet(reqs, track, current));
    evidence["below_requirements_since"] = serde_json::json!(since);
    history::record(
        tx,
        Change::automatic(
            row.talent_id,
            track,
            current,
            tier,
            cause.reason(false),
            evidence,
        ),
    )
    .await?;
    Ok(true)
}

fn evidence(
    cause: &Cause,
    stats: &Stats,
    reqs: &[Requirement],
    track: Track,
    tier: i16,
) -> serde_json::Value {
    let mut e = cause.evidence();
    e["requirements"] = reqs
        .iter()
        .filter(|r| r.tier == tier)
        .map(|r| serde_json::json!({ "key": r.key, "target": r.target, "current": stats.value(r.key, track) }))
        .collect();
    e
}

async fn set_row<C: ConnectionTrait>(
    tx: &C,
    row: &StandingRow,
    tier: i16,
    below_since: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<()> {
    db::execute(
        tx,
        "UPDATE talent_tracks SET tier = $1, below_since = $2, updated_at = $3 \
         WHERE talent_id = $4 AND track = $5 AND tier = $6 AND locked = $7",
        [
            tier.into(),
            below_since.into(),
            at.into(),
            row.talent_id.into(),
            row.track.into(),
            row.tier.get().into(),
            false.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Ends the grace periods that have run out: up to `batch` talents per
/// track, each in its own transaction. Returns how many moved.
pub async fn end_grace_periods(db: &DatabaseConnection, batch: u64) -> Result<u64> {
    let graces = grace_days(db).await?;
    let at = now();
    let mut moved = 0;
    for track in Track::ALL {
        let days = graces.get(&track).copied().unwrap_or(14);
        let cutoff = at - Duration::days(days.into());
        #[derive(FromQueryResult)]
        struct Due {
            talent_id: Uuid,
        }
        let due: Vec<Due> = db::fetch_all(
            db,
            &format!(
                "SELECT talent_id FROM talent_tracks WHERE track = $1 AND below_since IS NOT NULL \
                 AND below_since <= $2 AND locked = $3 ORDER BY below_since LIMIT {batch}"
            ),
            [track.into(), cutoff.into(), false.into()],
        )
        .await?;
        for d in due {
            let tx = db::begin_write(db).await?;
            match evaluate(&tx, d.talent_id, Some(track), &Cause::GracePeriodEnded).await {
                Ok(n) => {
                    tx.commit().await?;
                    moved += n;
                }
                Err(e) => {
                    tracing::warn!(talent = %d.talent_id, error = %e, "ending a grace period failed; skipped");
                    tx.rollback().await?;
                }
            }
        }
    }
    Ok(moved)
}

#[derive(FromQueryResult)]
struct Running {
    id: Uuid,
    track: Track,
    after_talent: Option<Uuid>,
}

#[derive(FromQueryResult)]
struct Enrolled {
    talent_id: Uuid,
}

/// Evaluates the next batch of the oldest running re-evaluation, in one
/// transaction that also moves its cursor (guarded: of two instances on
/// the same batch, one commits). Returns whether there was work.
pub async fn reevaluate_batch(db: &DatabaseConnection, batch: u64) -> Result<bool> {
    let running: Option<Running> = db::fetch_one(
        db,
        "SELECT id, track, after_talent FROM tier_reevaluations WHERE status = 'running' \
         ORDER BY created_at LIMIT 1",
        [],
    )
    .await?;
    let Some(job) = running else {
        return Ok(false);
    };
    let tx = db::begin_write(db).await?;
    let mut b = db::SqlBuilder::new("SELECT talent_id FROM talent_tracks WHERE track = ");
    let p = b.bind(job.track);
    b.push(&p);
    if let Some(after) = job.after_talent {
        let p = b.bind(after);
        b.push(&format!(" AND talent_id > {p}"));
    }
    b.push(&format!(" ORDER BY talent_id LIMIT {batch}"));
    let talents: Vec<Enrolled> = db::fetch_all(&tx, &b.sql, b.values).await?;
    let cause = Cause::RequirementsChanged {
        reevaluation: job.id,
    };
    let mut moved = 0u64;
    for t in &talents {
        moved += evaluate(&tx, t.talent_id, Some(job.track), &cause).await?;
    }
    let done = (talents.len() as u64) < batch;
    let last = talents.last().map(|t| t.talent_id).or(job.after_talent);
    let mut b = db::SqlBuilder::new("UPDATE tier_reevaluations SET after_talent = ");
    let p = b.bind(last);
    b.push(&p);
    let (n, m) = (b.bind(talents.len() as i64), b.bind(moved as i64));
    b.push(&format!(
        ", evaluated = evaluated + {n}, moved = moved + {m}"
    ));
    if done {
        let p = b.bind(now());
        b.push(&format!(", status = 'done', finished_at = {p}"));
    }
    let p = b.bind(job.id);
    b.push(&format!(" WHERE id = {p} AND status = 'running' AND "));
    match job.after_talent {
        Some(after) => {
            let p = b.bind(after);
            b.push(&format!("after_talent = {p}"));
        }
        None => {
            b.push("after_talent IS NULL");
        }
    }
    if db::execute(&tx, &b.sql, b.values).await? == 1 {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(true)
}

/// Requirements of every track, for progress reads.
pub(crate) async fn all_requirements<C: ConnectionTrait>(
    db: &C,
) -> Result<BTreeMap<Track, Vec<Requirement>>> {
    tracks::requirements(db).await
}

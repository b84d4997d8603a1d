//! Creating challenges, and moving them through their lifecycle: by managers (one guarded update per move, so only legal moves
//! land and two managers never both move one) and by the clock (open →
//! judging at `closes_at`, safe on any number of instances). Closing pays
//! the prizes, once.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::rubric::Rubric;
use super::{
    CHALLENGE_SQL, Challenge, ChallengeRow, ChallengeStatus, blind, closing, find, panel, seats,
};
use crate::caller::{Actor, Caller};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, FieldError, Result};
use crate::events::{self, ChallengeMoved, Clock, Event, MovedBy};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{self, Allowed, ManageChallenges};
use crate::types::{Amount, Limit, Text, Tier, Track, Url, Validator};
use crate::{audit, new_id, now};

pub const MAX_PRIZES: usize = 10;
pub const MAX_REFERENCE_ASSETS: usize = 20;
pub const MAX_SUBMISSIONS_PER_TALENT: i64 = 100;

/// A challenge as a community manager writes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeSpec {
    /// 1–200 characters.
    #[schema(example = "Neon product shots")]
    pub title: String,
    /// 1–20,000 characters.
    #[schema(example = "Three product shots of the sneaker in a neon-lit street, 4:5.")]
    pub brief: String,
    /// The track it practises; null for any.
    #[serde(default)]
    pub track: Option<Track>,
    /// Eligible tiers (0–5), inclusive; in `track`, or the headline tier.
    #[schema(minimum = 0, maximum = 5)]
    pub min_tier: i64,
    #[schema(minimum = 0, maximum = 5)]
    pub max_tier: i64,
    pub opens_at: DateTime<Utc>,
    /// After `opens_at`.
    pub closes_at: DateTime<Utc>,
    /// After `closes_at`.
    pub review_due_at: DateTime<Utc>,
    /// 1–100; withdrawn submissions do not count.
    #[schema(minimum = 1, maximum = 100)]
    pub max_submissions_per_talent: i64,
    /// Credits for each accepted submission (0 for none).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub reward: i64,
    /// Credits for place 1, 2, … (at most 10 places).
    #[serde(default)]
    pub prizes: Vec<i64>,
    /// http(s) URLs of reference images (at most 20).
    #[serde(default)]
    pub reference_assets: Vec<String>,
    pub rubric: Rubric,
    /// Makes passing this challenge evidence for certification in `track`
    /// (must equal `track`).
    #[serde(default)]
    pub certifies_track: Option<Track>,
    /// Regular reviews each submission gets: 1 (the default) to 3. With
    /// more than one, the decision and score are theirs together (see the
    /// challenge's field); fixed once judging starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3, example = 2)]
    pub reviewers_per_submission: Option<i64>,
    /// With several reviewers: how far apart (points of the 0–100 weighted
    /// total, like the pass mark) their totals may be before a tiebreak
    /// review is needed; 0–100, default 15 (15 % of the maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100, example = 15.0)]
    pub disagreement_threshold: Option<f64>,
    /// Hours after a submission's decision during which its talent may
    /// appeal (0: none; at most 720, default 48); fixed once judging starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 720, example = 48)]
    pub appeal_window_hours: Option<i64>,
    /// Hours the appealed reviewer has to answer (1–720, default 24); fixed
    /// once judging starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 720, example = 24)]
    pub appeal_response_hours: Option<i64>,
}

/// A checked spec.
pub(super) struct Checked {
    title: Text,
    brief: Text,
    min_tier: Tier,
    max_tier: Tier,
    max_submissions: i32,
    reference_assets: Vec<String>,
    /// Reviewers per submission and the disagreement threshold.
    panel: (i16, f64),
    /// The appeal window and response time, in hours.
    appeals: (i32, i32),
}

impl Checked {
    /// The stored columns from `title` to `certifies_track`, in table
    /// order, then `reviewers_per_submission`, `disagreement_threshold`,
    /// `appeal_window_hours` and `appeal_response_hours`.
    pub(super) fn values(&self, spec: &ChallengeSpec) -> Vec<sea_orm::Value> {
        vec![
            self.title.as_str().into(),
            self.brief.as_str().into(),
            spec.track.into(),
            self.min_tier.into(),
            self.max_tier.into(),
            spec.opens_at.into(),
            spec.closes_at.into(),
            spec.review_due_at.into(),
            self.max_submissions.into(),
            spec.reward.into(),
            serde_json::json!(spec.prizes).into(),
            serde_json::json!(self.reference_assets).into(),
            spec.certifies_track.into(),
            self.panel.0.into(),
            self.panel.1.into(),
            self.appeals.0.into(),
            self.appeals.1.into(),
        ]
    }
}

impl ChallengeSpec {
    pub(super) fn check(&self) -> Result<Checked> {
        let mut v = Validator::default();
        let title = v.check(Text::parse("title", &self.title, 1, 200));
        let brief = v.check(Text::parse("brief", &self.brief, 1, 20_000));
        let min_tier = v.check(Tier::parse("min_tier", self.min_tier));
        let max_tier = v.check(Tier::parse("max_tier", self.max_tier));
        if let (Some(lo), Some(hi)) = (min_tier, max_tier)
            && lo > hi
        {
            v.push(FieldError::new("max_tier", "must not be below min_tier"));
        }
        if self.closes_at <= self.opens_at {
            v.push(FieldError::new("closes_at", "must be after opens_at"));
        }
        if self.review_due_at <= self.closes_at {
            v.push(FieldError::new("review_due_at", "must be after closes_at"));
        }
        if !(1..=MAX_SUBMISSIONS_PER_TALENT).contains(&self.max_submissions_per_talent) {
            v.push(FieldError::new(
                "max_submissions_per_talent",
                format!("must be between 1 and {MAX_SUBMISSIONS_PER_TALENT}"),
            ));
        }
        if !(0..=Amount::MAX).contains(&self.reward) {
            v.push(FieldError::new(
                "reward",
                format!("must be between 0 and {}", Amount::MAX),
            ));
        }
        if self.prizes.len() > MAX_PRIZES {
            v.push(FieldError::new(
                "prizes",
                format!("must have at most {MAX_PRIZES} places"),
            ));
        }
        for (i, p) in self.prizes.iter().enumerate() {
            v.check(Amount::parse(&format!("prizes[{i}]"), *p));
        }
        if self.reference_assets.len() > MAX_REFERENCE_ASSETS {
            v.push(FieldError::new(
                "reference_assets",
                format!("must have at most {MAX_REFERENCE_ASSETS} URLs"),
            ));
        }
        let assets: Vec<String> = self
            .reference_assets
            .iter()
            .enumerate()
            .filter_map(|(i, a)| v.check(Url::parse(&format!("reference_assets[{i}]"), a)))
            .map(|u| u.as_str().to_owned())
            .collect();
        self.rubric.check("rubric", &mut v);
        if self.certifies_track.is_some() && self.certifies_track != self.track {
            v.push(FieldError::new(
                "certifies_track",
                "must be the challenge's track",
            ));
        }
        let panel = panel::check(
            self.reviewers_per_submission,
            self.disagreement_threshold,
            &mut v,
        );
        let appeals = appeal_hours(self.appeal_window_hours, self.appeal_response_hours, &mut v);
        v.finish_with(|| {
            Some(Checked {
                panel: panel?,
                appeals: appeals?,
                title: title?,
                brief: brief?,
                min_tier: min_tier?,
                max_tier: max_tier?,
                max_submissions: i32::try_from(self.max_submissions_per_talent).ok()?,
                reference_assets: assets,
            })
        })
    }
}

pub const MAX_APPEAL_HOURS: i64 = 720;

/// The appeal window (0–720 hours, default 48; 0: no appeals) and the
/// appealed reviewer's time to answer (1–720, default 24).
fn appeal_hours(
    window: Option<i64>,
    response: Option<i64>,
    v: &mut Validator,
) -> Option<(i32, i32)> {
    let (window, response) = (window.unwrap_or(48), response.unwrap_or(24));
    let mut ok = true;
    if !(0..=MAX_APPEAL_HOURS).contains(&window) {
        v.push(FieldError::new(
            "appeal_window_hours",
            format!("must be between 0 and {MAX_APPEAL_HOURS}"),
        ));
        ok = false;
    }
    if !(1..=MAX_APPEAL_HOURS).contains(&response) {
        v.push(FieldError::new(
            "appeal_response_hours",
            format!("must be between 1 and {MAX_APPEAL_HOURS}"),
        ));
        ok = false;
    }
    ok.then(|| {
        (
            i32::try_from(window).unwrap_or(48),
            i32::try_from(response).unwrap_or(24),
        )
    })
}

/// Creates a challenge as a draft, with rubric version 1.
pub async fn create(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageChallenges>,
    idem: Option<&Idempotency>,
    spec: ChallengeSpec,
) -> Result<Challenge> {
    let c = spec.check()?;
    let actor = allowed.caller().actor();
    let (id, t) = (new_id(), now());
    idempotency::run_optional(db, idem, "challenge.create", &spec, async |txn| {
        db::execute(
            txn,
            "INSERT INTO challenges (id, title, brief, track, min_tier, max_tier, opens_at, closes_at, \
             review_due_at, max_submissions_per_talent, reward, prizes, reference_assets, certifies_track, \
             reviewers_per_submission, disagreement_threshold, appeal_window_hours, appeal_response_hours, \
             rubric_version, status, cancel_reason, created_by, created_at, updated_at, blind_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             1, 'draft', NULL, $19, $20, $20, $21)",
            [id.into()]
                .into_iter()
                .chain(c.values(&spec))
                .chain([actor.id.unwrap_or_default().into(), t.into(), blind::new_key()?.into()]),
        )
        .await?;
        insert_rubric(txn, id, 1, &spec.rubric, actor).await?;
        let challenge = find(txn, id).await?;
        let after = Some(audit::json(&challenge));
        audit::record(
            txn,
            actor,
            "challenge.create",
            "challenge",
            Some(id.to_string()),
            None,
            after,
        )
        .await?;
        Ok(challenge)
    })
    .await
}

pub(super) async fn insert_rubric<C: ConnectionTrait>(
    db: &C,
    challenge: Uuid,
    version: i32,
    rubric: &Rubric,
    actor: Actor,
) -> Result<()> {
    db::execute(
        db,
        "INSERT INTO rubric_versions (challenge_id, version, criteria, pass_mark, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            challenge.into(),
            version.into(),
            serde_json::json!(rubric.criteria).into(),
            rubric.pass_mark.into(),
            actor.id.into(),
            now().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A challenge for `caller`: drafts exist only for staff.
pub async fn get(db: &DatabaseConnection, caller: Option<&Caller>, id: Uuid) -> Result<Challenge> {
    let c = find(db, id).await?;
    if c.status == ChallengeStatus::Draft && !caller.is_some_and(policy::is_staff) {
        return Err(DomainError::NotFound("challenge"));
    }
    Ok(c)
}

#[derive(Debug, Default)]
pub struct ChallengeFilter {
    pub status: Option<ChallengeStatus>,
    pub track: Option<Track>,
    /// Challenges a talent of this tier may enter.
    pub tier: Option<Tier>,
}

/// Challenges, newest first; drafts only for staff.
pub async fn list(
    db: &DatabaseConnection,
    caller: Option<&Caller>,
    f: &ChallengeFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Challenge>> {
    let before: Option<Uuid> = page::decode(cursor)?;
    let mut b = SqlBuilder::new(CHALLENGE_SQL);
    b.push(" WHERE 1 = 1");
    if !caller.is_some_and(policy::is_staff) {
        b.push(" AND c.status <> 'draft'");
    }
    if let Some(s) = f.status {
        let p = b.bind(s);
        b.push(&format!(" AND c.status = {p}"));
    }
    if let Some(t) = f.track {
        let p = b.bind(t);
        b.push(&format!(" AND c.track = {p}"));
    }
    if let Some(t) = f.tier {
        let p = b.bind(t);
        b.push(&format!(" AND c.min_tier <= {p} AND c.max_tier >= {p}"));
    }
    if let Some(c) = before {
        let p = b.bind(c);
        b.push(&format!(" AND c.id < {p}"));
    }
    b.push(&format!(" ORDER BY c.id DESC LIMIT {}", limit.get() + 1));
    let rows: Vec<ChallengeRow> = db::fetch_all(db, &b.sql, b.values).await?;
    let items = rows
        .into_iter()
        .map(Challenge::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, limit.get(), |c: &Challenge| {
        c.id.to_string()
    }))
}

/// A move of a challenge: to `open`, `judging`, `closed` or `cancelled`
/// (with a reason).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: ChallengeStatus,
    /// Required when cancelling: 1–500 characters.
    #[serde(default)]
    #[schema(example = "The client withdrew the brief")]
    pub reason: Option<String>,
}

pub async fn transition(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageChallenges>,
    idem: Option<&Idempotency>,
    id: Uuid,
    move_to: Transition,
) -> Result<Challenge> {
    let reason = match (&move_to.to, &move_to.reason) {
        (ChallengeStatus::Cancelled, Some(r)) => {
            Some(Text::parse("reason", r, 1, 500).map_err(|e| DomainError::Validation(vec![e]))?)
        }
        (ChallengeStatus::Cancelled, None) => {
            return Err(DomainError::field("reason", "is required to cancel"));
        }
        (_, _) => None,
    };
    let actor = allowed.caller().actor();
    idempotency::run_optional(db, idem, "challenge.transition", &serde_json::json!({ "challenge": id, "to": move_to.to, "reason": move_to.reason }), async |txn| {
        let before = find(txn, id).await?;
        let to = move_to.to;
        if !before.status.can_become(to) {
            return Err(DomainError::IllegalTransition {
                from: before.status,
                to,
            });
        }
        if to == ChallengeStatus::Closed {
            closing::judging_done(txn, &before).await?;
            closing::appeals_settled(txn, &before).await?;
        }
        let moved = db::execute(
            txn,
            "UPDATE challenges SET status = $1, cancel_reason = $2, updated_at = $3 WHERE id = $4 AND status = $5",
            [
                to.into(),
                reason.as_ref().map(|r| r.as_str().to_owned()).into(),
                now().into(),
                id.into(),
                before.status.into(),
            ],
        )
        .await?;
        if moved == 0 {
            // Another move landed first (a manager, or the clock).
            let now_status = find(txn, id).await?.status;
            return Err(DomainError::IllegalTransition {
                from: now_status,
                to,
            });
        }
        let prizes = if to == ChallengeStatus::Closed {
            let paid = closing::pay_prizes(txn, &before, actor).await?;
            // After the prizes: their talents' accounts are locked before
            // any seat, the order a review takes them in.
            seats::void_open(txn, id, now()).await?;
            Some(paid)
        } else {
            None
        };
        let event = Event::challenge_moved(ChallengeMoved {
            from: before.status,
            to,
            reason: reason.as_ref().map(|r| r.as_str().to_owned()),
            by: MovedBy::Caller(actor.id),
            prizes,
        })
        .ok_or_else(|| DomainError::bug("a move back to draft"))?;
        let was = Some(serde_json::json!({ "status": before.status }));
        let view = Some(serde_json::json!({ "status": to, "reason": reason }));
        events::record_staff_action(txn, actor, id, event, was, view).await?;
        if to == ChallengeStatus::Judging {
            seats::open_for_challenge(txn, id, now()).await?;
        }
        let after = find(txn, id).await?;
        Ok(after)
    })
    .await
}

#[derive(FromQueryResult)]
struct Moved {
    id: Uuid,
}

/// The clock: open challenges whose `closes_at` has passed move to judging.
/// One guarded update per run, so two instances never move one twice.
pub async fn advance_clock(db: &DatabaseConnection) -> Result<usize> {
    let t = now();
    let txn = db::begin_write(db).await?;
    let moved: Vec<Moved> = db::fetch_all(
        &txn,
        "UPDATE challenges SET status = 'judging', updated_at = $1 \
         WHERE status = 'open' AND closes_at <= $1 RETURNING id",
        [t.into()],
    )
    .await?;
    for m in &moved {
        let moved = ChallengeMoved {
            from: ChallengeStatus::Open,
            to: ChallengeStatus::Judging,
            reason: None,
            by: MovedBy::Clock(Clock::Clock),
            prizes: None,
        };
        events::record(&txn, m.id, Event::ChallengeJudging(moved)).await?;
        seats::open_for_challenge(&txn, m.id, t).await?;
    }
    txn.commit().await?;
    Ok(moved.len())
}

//! Reviewer quality, measured: the review backlog and how long work waits,
//! what is past its challenge's `review_due_at`, reviews per reviewer, and
//! how far independent reviewers agree (decision agreement, Krippendorff's
//! alpha through `agreement`), all read from the seats (`review_seats`)
//! with aggregate SQL, so the figures cost a few scans however many
//! reviews there are.
//!
//! The unit of agreement is a submission with two or more filled
//! *regular* seats (its independent reviews); a tiebreak review is called
//! because those disagreed, so it counts for the tiebreak rate and not for
//! agreement. A seat's current review is the one that counts (an overturn
//! replaces it). Every figure is about the submissions the filter selects:
//! of a challenge, of a track, submitted in `[from, to)`. Appeals count
//! per appealed reviewer (filed and upheld), with the share of decided
//! submissions appealed and the share of answered appeals upheld.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, DatabaseConnection, FromQueryResult, Iterable};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Decision;
use super::agreement::{IntervalSums, NominalSums};
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, FieldError, Result};
use crate::policy::{Allowed, ViewReviewMetrics};
use crate::types::{Limit, Track};

/// Which submissions the figures are about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricsFilter {
    challenge: Option<Uuid>,
    track: Option<Track>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    reviewers: u64,
}

impl MetricsFilter {
    /// A filter, refused (422 `validation_failed`, field `from`) when
    /// `from` is after `to`. `reviewers` bounds the per-reviewer list.
    pub fn new(
        challenge: Option<Uuid>,
        track: Option<Track>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        reviewers: Limit,
    ) -> Result<Self> {
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(DomainError::Validation(vec![FieldError::new(
                "from",
                "must not be after `to`",
            )]));
        }
        Ok(Self {
            challenge,
            track,
            from,
            to,
            reviewers: reviewers.get(),
        })
    }

    /// `sql` (ending in a `WHERE` condition on `rs`, the seats) with the
    /// filter's conditions added.
    fn sql(&self, sql: &str) -> SqlBuilder {
        let mut b = SqlBuilder::new(sql);
        self.add_to(&mut b);
        b
    }

    /// Adds the filter's conditions on `rs`, the seats, to `b`.
    fn add_to(&self, b: &mut SqlBuilder) {
        if let Some(c) = self.challenge {
            let p = b.bind(c);
            b.push(&format!(" AND rs.challenge_id = {p}"));
        }
        if let Some(t) = self.track {
            let p = b.bind(t);
            b.push(&format!(" AND rs.track = {p}"));
        }
        if let Some(f) = self.from {
            let p = b.bind(f);
            b.push(&format!(" AND rs.submitted_at >= {p}"));
        }
        if let Some(t) = self.to {
            let p = b.bind(t);
            b.push(&format!(" AND rs.submitted_at < {p}"));
        }
    }
}

/// One reviewer's share of the reviews.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct ReviewerMetrics {
    pub reviewer_id: Uuid,
    /// Reviews of theirs that stand (the current review of a seat).
    pub reviews: i64,
    /// Of those, tiebreak reviews.
    pub tiebreaks: i64,
    /// Appeals filed against their reviews (standing or since re-scored).
    pub appeals: i64,
    /// Of those, upheld.
    pub appeals_upheld: i64,
}

/// The review figures over the submissions a filter selects.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewMetrics {
    /// When the figures were computed (they may be cached briefly).
    pub generated_at: DateTime<Utc>,
    /// Open review seats: reviews still to be written.
    pub backlog: i64,
    /// Of those, seats under a live claim.
    pub backlog_claimed: i64,
    /// Submissions with at least one open seat.
    pub waiting_submissions: i64,
    /// Median time the waiting submissions have waited since they were
    /// submitted, in seconds (nearest rank); null when none waits.
    #[schema(required = true)]
    pub waiting_age_p50_seconds: Option<i64>,
    /// The 90th percentile of the same.
    #[schema(required = true)]
    pub waiting_age_p90_seconds: Option<i64>,
    /// Waiting submissions whose challenge's `review_due_at` has passed.
    pub past_due: i64,
    /// Submissions with two or more (regular) reviews: the units the
    /// agreement figures are over.
    pub multi_reviewed: i64,
    /// Of those, the share whose reviewers all gave the same decision;
    /// null without any.
    #[schema(required = true)]
    pub decision_agreement: Option<f64>,
    /// Krippendorff's alpha of the decisions (nominal): 1 is perfect
    /// agreement, 0 what chance gives. Null when undefined: no submission
    /// with two reviews, or every decision the same.
    #[schema(required = true)]
    pub alpha_nominal: Option<f64>,
    /// Krippendorff's alpha of the weighted scores (`total`, interval
    /// metric). Null when undefined, as above.
    #[schema(required = true)]
    pub alpha_interval: Option<f64>,
    /// Submissions that needed a tiebreak review.
    pub tiebreaks: i64,
    /// `tiebreaks / multi_reviewed`; null without multi-reviewed work.
    #[schema(required = true)]
    pub tiebreak_rate: Option<f64>,
    /// How many people have a review that stands.
    pub reviewers_total: i64,
    /// The reviewers with the most reviews that stand, most first (then by
    /// id), at most `limit` of them.
    pub reviewers: Vec<ReviewerMetrics>,
    /// Appeals filed (one per criterion of a submission).
    pub appeals: i64,
    /// Of those, upheld (the criterion re-scored).
    pub appeals_upheld: i64,
    /// The share of decided submissions with at least one appeal; null
    /// without decided work.
    #[schema(required = true)]
    pub appeal_rate: Option<f64>,
    /// `appeals_upheld` over the answered appeals; null before any answer.
    #[schema(required = true)]
    pub upheld_rate: Option<f64>,
}

#[derive(FromQueryResult)]
struct Backlog {
    backlog: i64,
    claimed: Option<i64>,
    waiting: i64,
    past_due: i64,
}

#[derive(FromQueryResult)]
struct Submitted {
    submitted_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct Units {
    units: i64,
    unanimous: Option<i64>,
    n: Option<f64>,
    sum: Option<f64>,
    squares: Option<f64>,
    interval_within: Option<f64>,
    nominal_within: Option<f64>,
    category_squares: Option<f64>,
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

/// The appeals the filter selects (each counted once, through its
/// submission's first seat).
#[derive(FromQueryResult)]
struct Appeals {
    appeals: i64,
    upheld: Option<i64>,
    answered: Option<i64>,
    appealed: i64,
}

#[derive(FromQueryResult)]
struct ReviewerAppeals {
    reviewer_id: Uuid,
    appeals: i64,
    upheld: i64,
}

const APPEALS_FROM: &str = " FROM appeals a JOIN review_seats rs \
     ON rs.submission_id = a.submission_id AND rs.seat = 1 WHERE 1 = 1";

#[derive(FromQueryResult)]
struct ReviewerRow {
    reviewer_id: Uuid,
    reviews: i64,
    tiebreaks: i64,
    reviewers_total: i64,
}

/// The sums `agreement` needs over the units `f` selects, in one pass
/// over the regular seats' current reviews grouped by submission: per
/// unit, its count, sum and sum of squares of totals, and a count per
/// decision (a column per `Decision` variant, so a new decision is counted
/// as its own category without a change here).
fn units_sql(f: &MetricsFilter) -> SqlBuilder {
    let mut b = SqlBuilder::new("");
    let per_decision: Vec<String> = Decision::iter()
        .enumerate()
        .map(|(i, d)| {
            let p = b.bind(d.to_value());
            format!(", CAST(SUM(CASE WHEN r.decision = {p} THEN 1 ELSE 0 END) AS DOUBLE PRECISION) AS d{i}")
        })
        .collect();
    b.push(&format!(
        "WITH units AS (SELECT rs.submission_id, CAST(COUNT(*) AS DOUBLE PRECISION) AS m, \
         SUM(r.total) AS s, SUM(r.total * r.total) AS q{} \
         FROM review_seats rs JOIN reviews r ON r.id = rs.review_id \
         WHERE rs.state = 'filled' AND rs.kind = 'regular'",
        per_decision.concat()
    ));
    f.add_to(&mut b);
    let d = |f: &dyn Fn(usize) -> String, sep: &str| {
        (0..per_decision.len()).map(f).collect::<Vec<_>>().join(sep)
    };
    b.push(&format!(
        " GROUP BY rs.submission_id HAVING COUNT(*) >= 2) \
         SELECT COUNT(*) AS units, \
         SUM(CASE WHEN {unanimous} THEN 1 ELSE 0 END) AS unanimous, \
         SUM(m) AS n, SUM(s) AS sum, SUM(q) AS squares, \
         SUM((m * q - s * s) / (m - 1)) AS interval_within, \
         SUM((m * m - ({same})) / (m - 1)) AS nominal_within, \
         {category_squares} AS category_squares \
         FROM units",
        unanimous = d(&|i| format!("d{i} = m"), " OR "),
        same = d(&|i| format!("d{i} * d{i}"), " + "),
        category_squares = d(&|i| format!("SUM(d{i}) * SUM(d{i})"), " + "),
    ));
    b
}

/// The figures for `f`, as of now.
pub async fn review_metrics(
    db: &DatabaseConnection,
    _allowed: &Allowed<ViewReviewMetrics>,
    f: &MetricsFilter,
) -> Result<ReviewMetrics> {
    let at = crate::now();

    let mut q = SqlBuilder::new("");
    let now = q.bind(at);
    q.push(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS backlog, \
         CAST(SUM(CASE WHEN rs.claimed_by IS NOT NULL AND rs.lease_expires_at > {now} THEN 1 ELSE 0 END) AS BIGINT) AS claimed, \
         CAST(COUNT(DISTINCT rs.submission_id) AS BIGINT) AS waiting, \
         CAST(COUNT(DISTINCT CASE WHEN c.review_due_at <= {now} THEN rs.submission_id END) AS BIGINT) AS past_due \
         FROM review_seats rs JOIN challenges c ON c.id = rs.challenge_id \
         WHERE rs.state = 'open'"
    ));
    f.add_to(&mut q);
    let backlog: Backlog = db::fetch_one(db, &q.sql, q.values)
        .await?
        .ok_or_else(|| DomainError::bug("an aggregate without a row"))?;

    let p50 = waiting_age(db, f, backlog.waiting, 0.5, at).await?;
    let p90 = waiting_age(db, f, backlog.waiting, 0.9, at).await?;

    let q = units_sql(f);
    let units: Units = db::fetch_one(db, &q.sql, q.values)
        .await?
        .ok_or_else(|| DomainError::bug("an aggregate without a row"))?;
    let nominal = NominalSums {
        values: units.n.unwrap_or(0.0),
        within: units.nominal_within.unwrap_or(0.0),
        category_squares: units.category_squares.unwrap_or(0.0),
    };
    let interval = IntervalSums {
        values: units.n.unwrap_or(0.0),
        sum: units.sum.unwrap_or(0.0),
        squares: units.squares.unwrap_or(0.0),
        within: units.interval_within.unwrap_or(0.0),
    };

    let q = f.sql(
        "SELECT CAST(COUNT(DISTINCT rs.submission_id) AS BIGINT) AS n FROM review_seats rs \
         WHERE rs.kind = 'tiebreak'",
    );
    let tiebreaks = db::fetch_one::<Count, _>(db, &q.sql, q.values)
        .await?
        .map_or(0, |c| c.n);

    let mut q = f.sql(
        "SELECT rs.reviewer_id, CAST(COUNT(*) AS BIGINT) AS reviews, \
         CAST(SUM(CASE WHEN rs.kind = 'tiebreak' THEN 1 ELSE 0 END) AS BIGINT) AS tiebreaks, \
         CAST(COUNT(*) OVER () AS BIGINT) AS reviewers_total \
         FROM review_seats rs WHERE rs.state = 'filled' AND rs.reviewer_id IS NOT NULL",
    );
    q.push(&format!(
        " GROUP BY rs.reviewer_id ORDER BY reviews DESC, rs.reviewer_id LIMIT {}",
        f.reviewers
    ));
    let rows: Vec<ReviewerRow> = db::fetch_all(db, &q.sql, q.values).await?;

    let q = f.sql(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS appeals, \
         CAST(SUM(CASE WHEN a.status = 'upheld' THEN 1 ELSE 0 END) AS BIGINT) AS upheld, \
         CAST(SUM(CASE WHEN a.status <> 'open' THEN 1 ELSE 0 END) AS BIGINT) AS answered, \
         CAST(COUNT(DISTINCT a.submission_id) AS BIGINT) AS appealed{APPEALS_FROM}"
    ));
    let appeals: Appeals = db::fetch_one(db, &q.sql, q.values)
        .await?
        .ok_or_else(|| DomainError::bug("an aggregate without a row"))?;
    let q = f.sql(
        "SELECT CAST(COUNT(DISTINCT rs.submission_id) AS BIGINT) AS n FROM review_seats rs \
         JOIN submissions s ON s.id = rs.submission_id WHERE s.status IN ('accepted', 'rejected')",
    );
    let decided = db::fetch_one::<Count, _>(db, &q.sql, q.values)
        .await?
        .map_or(0, |c| c.n);
    let mut q = f.sql(&format!(
        "SELECT a.reviewer_id, CAST(COUNT(*) AS BIGINT) AS appeals, \
         CAST(SUM(CASE WHEN a.status = 'upheld' THEN 1 ELSE 0 END) AS BIGINT) AS upheld{APPEALS_FROM}"
    ));
    q.push(" GROUP BY a.reviewer_id");
    let per_reviewer: HashMap<Uuid, (i64, i64)> =
        db::fetch_all::<ReviewerAppeals, _>(db, &q.sql, q.values)
            .await?
            .into_iter()
            .map(|r| (r.reviewer_id, (r.appeals, r.upheld)))
            .collect();

    let share = |part: i64, whole: i64| (whole > 0).then(|| part as f64 / whole as f64);
    Ok(ReviewMetrics {
        generated_at: at,
        backlog: backlog.backlog,
        backlog_claimed: backlog.claimed.unwrap_or(0),
        waiting_submissions: backlog.waiting,
        waiting_age_p50_seconds: p50,
        waiting_age_p90_seconds: p90,
        past_due: backlog.past_due,
        multi_reviewed: units.units,
        decision_agreement: share(units.unanimous.unwrap_or(0), units.units),
        alpha_nominal: nominal.alpha(),
        alpha_interval: interval.alpha(),
        tiebreaks,
        tiebreak_rate: share(tiebreaks, units.units),
        reviewers_total: rows.first().map_or(0, |r| r.reviewers_total),
        reviewers: rows
            .into_iter()
            .map(|r| {
                let (appeals, upheld) = per_reviewer
                    .get(&r.reviewer_id)
                    .copied()
                    .unwrap_or_default();
                ReviewerMetrics {
                    reviewer_id: r.reviewer_id,
                    reviews: r.reviews,
                    tiebreaks: r.tiebreaks,
                    appeals,
                    appeals_upheld: upheld,
                }
            })
            .collect(),
        appeals: appeals.appeals,
        appeals_upheld: appeals.upheld.unwrap_or(0),
        appeal_rate: share(appeals.appealed, decided),
        upheld_rate: share(appeals.upheld.unwrap_or(0), appeals.answered.unwrap_or(0)),
    })
}

/// The `p` percentile (nearest rank) of how long the `waiting` submissions
/// the filter selects have waited at `at`, in seconds: the submission at
/// rank `⌈p · waiting⌉` from the youngest.
async fn waiting_age(
    db: &DatabaseConnection,
    f: &MetricsFilter,
    waiting: i64,
    p: f64,
    at: DateTime<Utc>,
) -> Result<Option<i64>> {
    if waiting <= 0 {
        return Ok(None);
    }
    let rank = ((p * waiting as f64).ceil() as i64).clamp(1, waiting);
    let mut q = f.sql("SELECT rs.submitted_at FROM review_seats rs WHERE rs.state = 'open'");
    q.push(&format!(
        " GROUP BY rs.submission_id, rs.submitted_at \
         ORDER BY rs.submitted_at DESC, rs.submission_id LIMIT 1 OFFSET {}",
        rank - 1
    ));
    let row: Option<Submitted> = db::fetch_one(db, &q.sql, q.values).await?;
    Ok(row.map(|r| (at - r.submitted_at).num_seconds().max(0)))
}

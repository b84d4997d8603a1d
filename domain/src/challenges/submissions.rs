//! Submissions: work sent to an open challenge inside its window by an
//! eligible talent, at most the challenge's number each (withdrawn ones do
//! not count; a guarded counter holds the limit under concurrency). A
//! talent sees its own; staff see all; everyone sees a closed challenge's.
//! While judging, reviewers see them blind (`blind`). An asset URL already
//! in another talent's submission is accepted but flagged for the reviewer.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DeriveActiveEnum, EnumIter, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::blind::{self, Authors};
use super::{Challenge, ChallengeStatus, decode, find};
use crate::caller::Caller;
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, FieldError, Result};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{self, Allowed, SubmissionsShown, SubmitWork};
use crate::types::{Limit, Text, Url, Validator};
use crate::{new_id, now, tiers, verification};

pub const MAX_ASSETS: usize = 20;
pub const MAX_WORKFLOW_BYTES: usize = 16 * 1024;
pub const MAX_BATCH: i64 = 1000;

/// Where a submission stands: sent, reviewed (accepted or rejected), or withdrawn.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum SubmissionStatus {
    Submitted,
    Accepted,
    Rejected,
    Withdrawn,
}

/// Work as a talent sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionSpec {
    /// http(s) URLs or storage links of the outputs (1–20).
    #[schema(example = json!(["https://cdn.example.com/runs/42/out-1.png"]))]
    pub assets: Vec<String>,
    /// The prompt (1–10,000 characters).
    #[schema(example = "sneaker on a wet neon street, night, 35mm, shallow depth of field")]
    pub prompt: String,
    /// Workflow metadata (models, LoRAs, seeds): a JSON object of at most 16 KiB.
    #[serde(default = "empty_object")]
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>, example = json!({"model": "sdxl-base-1.0", "seed": 1234}))]
    pub workflow: serde_json::Value,
    /// How many outputs the run generated (1–1,000).
    #[schema(minimum = 1, maximum = 1000, example = 8)]
    pub batch_size: i64,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// A change to a submission while the window is open; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionPatch {
    pub assets: Option<Vec<String>>,
    pub prompt: Option<String>,
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub workflow: Option<serde_json::Value>,
    #[schema(minimum = 1, maximum = 1000)]
    pub batch_size: Option<i64>,
}

struct Checked {
    assets: Vec<String>,
    prompt: Text,
    batch_size: i32,
}

impl SubmissionSpec {
    fn check(&self) -> Result<Checked> {
        let mut v = Validator::default();
        if self.assets.is_empty() || self.assets.len() > MAX_ASSETS {
            v.push(FieldError::new(
                "assets",
                format!("must have 1 to {MAX_ASSETS} URLs"),
            ));
        }
        let mut assets: Vec<String> = Vec::new();
        for (i, a) in self.assets.iter().enumerate() {
            if let Some(u) = v.check(Url::parse(&format!("assets[{i}]"), a)) {
                if assets.iter().any(|x| x == u.as_str()) {
                    v.push(FieldError::new(format!("assets[{i}]"), "is listed twice"));
                } else {
                    assets.push(u.as_str().to_owned());
                }
            }
        }
        let prompt = v.check(Text::parse("prompt", &self.prompt, 1, 10_000));
        if !self.workflow.is_object() {
            v.push(FieldError::new("workflow", "must be a JSON object"));
        } else if self.workflow.to_string().len() > MAX_WORKFLOW_BYTES {
            v.push(FieldError::new(
                "workflow",
                format!("must be at most {MAX_WORKFLOW_BYTES} bytes of JSON"),
            ));
        }
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            v.push(FieldError::new(
                "batch_size",
                format!("must be between 1 and {MAX_BATCH}"),
            ));
        }
        v.finish_with(|| {
            Some(Checked {
                assets,
                prompt: prompt?,
                batch_size: i32::try_from(self.batch_size).ok()?,
            })
        })
    }
}

/// A submission as its reader may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Submission {
    pub id: Uuid,
    pub challenge_id: Uuid,
    /// Its talent; null in a blind view (`author_alias` instead): while the
    /// challenge is judging, community managers and admins see others'
    /// work without its author.
    #[schema(required = true)]
    pub talent_id: Option<Uuid>,
    /// In a blind view: who wrote it, as an alias stable within the
    /// challenge (`Talent-3FA9C21B07`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_alias: Option<String>,
    pub assets: Vec<String>,
    pub prompt: String,
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub workflow: serde_json::Value,
    pub batch_size: i32,
    pub status: SubmissionStatus,
    /// The weighted total of the current review (0–100); with several
    /// reviewers per submission, their aggregate (the mean, or with a
    /// tiebreak the median), null until every regular seat has a review.
    #[schema(required = true)]
    pub score: Option<f64>,
    /// Of the batch, how many outputs met the visual standard (current
    /// review; with several reviewers, the lower median of their counts).
    #[schema(required = true)]
    pub outputs_meeting_standard: Option<i32>,
    /// The current review; with several reviewers, the review whose arrival
    /// gave or last changed the aggregate outcome.
    #[schema(required = true)]
    pub review_id: Option<Uuid>,
    /// Staff only: an asset URL is also in another talent's submission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_flagged: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
pub(super) struct SubmissionRow {
    pub id: Uuid,
    pub challenge_id: Uuid,
    pub talent_id: Uuid,
    pub assets: serde_json::Value,
    pub prompt: String,
    pub workflow: serde_json::Value,
    pub batch_size: i32,
    pub status: SubmissionStatus,
    pub copy_flagged: bool,
    pub score: Option<f64>,
    pub outputs_meeting_standard: Option<i32>,
    pub review_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SubmissionRow {
    /// The submission as a reader sees it: staff see the copied-work flag;
    /// under an alias, without its talent.
    pub(super) fn view(self, staff: bool, alias: Option<String>) -> Result<Submission> {
        Ok(Submission {
            id: self.id,
            challenge_id: self.challenge_id,
            talent_id: alias.is_none().then_some(self.talent_id),
            author_alias: alias,
            assets: decode(self.assets, "assets")?,
            prompt: self.prompt,
            workflow: self.workflow,
            batch_size: self.batch_size,
            status: self.status,
            score: self.score,
            outputs_meeting_standard: self.outputs_meeting_standard,
            review_id: self.review_id,
            copy_flagged: staff.then_some(self.copy_flagged),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub(super) async fn find_submission<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<SubmissionRow> {
    db::fetch_one(db, "SELECT * FROM submissions WHERE id = $1", [id.into()])
        .await?
        .ok_or(DomainError::NotFound("submission"))
}

/// Whether the challenge takes submissions now: open, and the clock inside
/// its window (the clock is law, whatever the status says).
fn taking_submissions(c: &Challenge, at: DateTime<Utc>) -> Result<()> {
    if c.status == ChallengeStatus::Open && c.opens_at <= at && at < c.closes_at {
        Ok(())
    } else {
        Err(DomainError::SubmissionWindowClosed)
    }
}

/// Whether another talent's live submission to the challenge lists one of `assets`.
async fn copies<C: ConnectionTrait>(
    db: &C,
    challenge: Uuid,
    talent: Uuid,
    assets: &[String],
) -> Result<bool> {
    let mut b = SqlBuilder::new(
        "SELECT 1 FROM submission_assets a JOIN submissions s ON s.id = a.submission_id \
         WHERE s.status <> 'withdrawn' AND a.challenge_id = ",
    );
    let p = b.bind(challenge);
    b.push(&p);
    let p = b.bind(talent);
    b.push(&format!(" AND a.talent_id <> {p} AND a.url IN ("));
    let ps: Vec<String> = assets.iter().map(|a| b.bind(a.as_str())).collect();
    b.push(&ps.join(", "));
    b.push(") LIMIT 1");
    Ok(db::exists(db, &b.sql, b.values).await?)
}

async fn store_assets<C: ConnectionTrait>(
    db: &C,
    s: &SubmissionRow,
    assets: &[String],
) -> Result<()> {
    db::execute(
        db,
        "DELETE FROM submission_assets WHERE submission_id = $1",
        [s.id.into()],
    )
    .await?;
    for a in assets {
        db::execute(
            db,
            "INSERT INTO submission_assets (challenge_id, url, submission_id, talent_id) VALUES ($1, $2, $3, $4)",
            [s.challenge_id.into(), a.as_str().into(), s.id.into(), s.talent_id.into()],
        )
        .await?;
    }
    Ok(())
}

/// A talent submits work to a challenge.
pub async fn submit(
    db: &DatabaseConnection,
    allowed: &Allowed<SubmitWork>,
    idem: Option<&Idempotency>,
    challenge_id: Uuid,
    spec: SubmissionSpec,
) -> Result<Submission> {
    let checked = spec.check()?;
    let talent = allowed
        .caller()
        .user_id()
        .ok_or_else(|| DomainError::bug("a submission by a service"))?;
    // Before the key is used: a refusal while unverified is not replayed later.
    verification::require_verified(db, talent).await?;
    let request = serde_json::json!({ "challenge_id": challenge_id, "submission": spec });
    idempotency::run_optional(db, idem, "submit", &request, async |tx| {
        // Again inside: an erasure may have landed since.
        verification::require_verified(tx, talent).await?;
        let at = now();
        let c = find(tx, challenge_id).await?;
        if c.status == ChallengeStatus::Draft {
            return Err(DomainError::NotFound("challenge"));
        }
        taking_submissions(&c, at)?;
        let tier = tiers::tier_for(tx, talent, c.track).await?;
        if tier < c.min_tier || tier > c.max_tier {
            return Err(DomainError::NotEligible {
                min: c.min_tier.get(),
                max: c.max_tier.get(),
            });
        }
        db::execute(
            tx,
            "INSERT INTO challenge_entries (challenge_id, talent_id, live) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
            [challenge_id.into(), talent.into()],
        )
        .await?;
        let counted = db::execute(
            tx,
            "UPDATE challenge_entries SET live = live + 1 WHERE challenge_id = $1 AND talent_id = $2 AND live < $3",
            [challenge_id.into(), talent.into(), c.max_submissions_per_talent.into()],
        )
        .await?;
        if counted == 0 {
            return Err(DomainError::SubmissionLimit(c.max_submissions_per_talent));
        }
        let flagged = copies(tx, challenge_id, talent, &checked.assets).await?;
        let id = new_id();
        db::execute(
            tx,
            "INSERT INTO submissions (id, challenge_id, talent_id, assets, prompt, workflow, batch_size, status, \
             copy_flagged, score, outputs_meeting_standard, review_id, reward_transaction_id, reward_owed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, NULL, NULL, NULL, NULL, 0, $9, $9)",
            [
                id.into(),
                challenge_id.into(),
                talent.into(),
                serde_json::json!(checked.assets).into(),
                checked.prompt.as_str().into(),
                spec.workflow.clone().into(),
                checked.batch_size.into(),
                flagged.into(),
                at.into(),
            ],
        )
        .await?;
        let row = find_submission(tx, id).await?;
        store_assets(tx, &row, &checked.assets).await?;
        row.view(false, None)
    })
    .await
}

pub async fn get_submission(
    db: &DatabaseConnection,
    caller: Option<&Caller>,
    id: Uuid,
) -> Result<Submission> {
    let s = find_submission(db, id).await?;
    let c = find(db, s.challenge_id).await?;
    // Published: the challenge is closed and the work was not withdrawn.
    let published = c.status == ChallengeStatus::Closed && s.status != SubmissionStatus::Withdrawn;
    policy::may_read_submission(caller, s.talent_id, published)?;
    let alias = blind::authors(db, caller, c.id, c.status, s.talent_id)
        .await?
        .alias(s.talent_id);
    s.view(caller.is_some_and(policy::is_staff), alias)
}

/// Which submissions a list holds.
#[derive(Debug, Default)]
pub struct SubmissionFilter {
    /// One challenge's (as its reader may see them).
    pub challenge: Option<Uuid>,
    /// One talent's (their own, or staff).
    pub talent: Option<Uuid>,
    pub status: Option<SubmissionStatus>,
}

/// Submissions, newest first: a challenge's (staff all, a talent its own,
/// everyone all once closed) or a talent's own across challenges.
pub async fn list_submissions(
    db: &DatabaseConnection,
    caller: Option<&Caller>,
    f: &SubmissionFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Submission>> {
    let before: Option<Uuid> = page::decode(cursor)?;
    let staff = caller.is_some_and(policy::is_staff);
    let mut authors = Authors::Shown;
    let mut b = SqlBuilder::new("SELECT s.* FROM submissions s WHERE 1 = 1");
    if let Some(cid) = f.challenge {
        let c = super::get(db, caller, cid).await?;
        // Decided for someone else's work: a reader's own always shows.
        authors = blind::authors(db, caller, c.id, c.status, Uuid::nil()).await?;
        let p = b.bind(cid);
        b.push(&format!(" AND s.challenge_id = {p}"));
        let closed = c.status == ChallengeStatus::Closed;
        match policy::submissions_shown(caller, closed) {
            SubmissionsShown::All => {}
            SubmissionsShown::PublishedAndOwn(me) => {
                let p = b.bind(me.unwrap_or_default());
                b.push(&format!(
                    " AND (s.status <> 'withdrawn' OR s.talent_id = {p})"
                ));
            }
            SubmissionsShown::Own(me) => {
                let p = b.bind(me.unwrap_or_default());
                b.push(&format!(" AND s.talent_id = {p}"));
            }
        }
    }
    if let Some(t) = f.talent {
        policy::may_read_private_of(caller, t)?;
        let p = b.bind(t);
        b.push(&format!(" AND s.talent_id = {p}"));
    }
    if let Some(st) = f.status {
        let p = b.bind(st);
        b.push(&format!(" AND s.status = {p}"));
    }
    if let Some(c) = before {
        let p = b.bind(c);
        b.push(&format!(" AND s.id < {p}"));
    }
    b.push(&format!(" ORDER BY s.id DESC LIMIT {}", limit.get() + 1));
    let rows: Vec<SubmissionRow> = db::fetch_all(db, &b.sql, b.values).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let alias = authors.alias_for(caller, r.talent_id);
            r.view(staff, alias)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, limit.get(), |s: &Submission| {
        s.id.to_string()
    }))
}

/// The submission `caller` owns, in a challenge still taking submissions.
async fn own_and_open<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    id: Uuid,
) -> Result<SubmissionRow> {
    let s = find_submission(db, id).await?;
    policy::may_change_submission(caller, s.talent_id)?;
    if s.status == SubmissionStatus::Withdrawn {
        return Err(DomainError::SubmissionWithdrawn);
    }
    taking_submissions(&find(db, s.challenge_id).await?, now())?;
    Ok(s)
}

/// The talent edits its submission while the window is open.
pub async fn update_submission(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    patch: SubmissionPatch,
) -> Result<Submission> {
    let txn = db::begin_write(db).await?;
    let s = own_and_open(&txn, caller, id).await?;
    let spec = SubmissionSpec {
        assets: match patch.assets {
            Some(a) => a,
            None => decode(s.assets.clone(), "assets")?,
        },
        prompt: patch.prompt.unwrap_or_else(|| s.prompt.clone()),
        workflow: patch.workflow.unwrap_or_else(|| s.workflow.clone()),
        batch_size: patch.batch_size.unwrap_or(s.batch_size.into()),
    };
    let checked = spec.check()?;
    let flagged = copies(&txn, s.challenge_id, s.talent_id, &checked.assets).await?;
    let changed = db::execute(
        &txn,
        "UPDATE submissions SET assets = $1, prompt = $2, workflow = $3, batch_size = $4, copy_flagged = $5, \
         updated_at = $6 WHERE id = $7 AND status = 'submitted'",
        [
            serde_json::json!(checked.assets).into(),
            checked.prompt.as_str().into(),
            spec.workflow.into(),
            checked.batch_size.into(),
            flagged.into(),
            now().into(),
            id.into(),
        ],
    )
    .await?;
    if changed == 0 {
        return Err(DomainError::SubmissionWithdrawn);
    }
    store_assets(&txn, &s, &checked.assets).await?;
    let row = find_submission(&txn, id).await?;
    txn.commit().await?;
    row.view(false, None)
}

/// Withdraws every submission of `talent` still waiting for a decision (an
/// erasure: the person leaves the pipeline); they no longer count towards
/// the limits. In the caller's transaction.
pub async fn withdraw_waiting_of<C: ConnectionTrait>(
    db: &C,
    talent: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    db::execute(
        db,
        "UPDATE challenge_entries SET live = live - (SELECT COUNT(*) FROM submissions s \
         WHERE s.challenge_id = challenge_entries.challenge_id AND s.talent_id = challenge_entries.talent_id \
         AND s.status = 'submitted') WHERE talent_id = $1",
        [talent.into()],
    )
    .await?;
    db::execute(
        db,
        "UPDATE submissions SET status = 'withdrawn', updated_at = $1 WHERE talent_id = $2 AND status = 'submitted'",
        [at.into(), talent.into()],
    )
    .await?;
    Ok(())
}

/// The talent withdraws its submission while the window is open; it no
/// longer counts towards the limit.
pub async fn withdraw(db: &DatabaseConnection, caller: &Caller, id: Uuid) -> Result<Submission> {
    let txn = db::begin_write(db).await?;
    let s = own_and_open(&txn, caller, id).await?;
    let changed = db::execute(
        &txn,
        "UPDATE submissions SET status = 'withdrawn', updated_at = $1 WHERE id = $2 AND status = 'submitted'",
        [now().into(), id.into()],
    )
    .await?;
    if changed == 0 {
        return Err(DomainError::SubmissionWithdrawn);
    }
    db::execute(
        &txn,
        "UPDATE challenge_entries SET live = live - 1 WHERE challenge_id = $1 AND talent_id = $2",
        [s.challenge_id.into(), s.talent_id.into()],
    )
    .await?;
    let row = find_submission(&txn, id).await?;
    txn.commit().await?;
    row.view(false, None)
}

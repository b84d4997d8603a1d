//! The five tracks as data: each track's name, playbook, demotion grace
//! period and tier requirements (`{tier, key, target}`), which an admin
//! replaces. A replacement re-evaluates the track's talents in the
//! background (`reevaluations`), in bounded batches, counting what moved.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DeriveActiveEnum, EnumIter, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db;
use crate::error::{DomainError, FieldError, Result};
use crate::policy::{Allowed, ManageTracks};
use crate::types::{Text, Track, Url, Validator};
use crate::{audit, new_id, now};

/// What a tier requirement measures.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum RequirementKey {
    /// Display name, bio and at least one portfolio link (target 1).
    ProfileComplete,
    /// Challenges of any track with an accepted submission.
    PassedChallenges,
    /// Challenges of this track with an accepted submission.
    PassedTrackChallenges,
    /// Reviewed batches (submissions) in this track.
    ReviewedBatches,
    /// Of the reviewed batches in this track, the share with at least one
    /// output meeting the visual standard (0–1).
    BulkRunSuccessRate,
}

impl RequirementKey {
    pub const ALL: [RequirementKey; 5] = [
        Self::ProfileComplete,
        Self::PassedChallenges,
        Self::PassedTrackChallenges,
        Self::ReviewedBatches,
        Self::BulkRunSuccessRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfileComplete => "profile_complete",
            Self::PassedChallenges => "passed_challenges",
            Self::PassedTrackChallenges => "passed_track_challenges",
            Self::ReviewedBatches => "reviewed_batches",
            Self::BulkRunSuccessRate => "bulk_run_success_rate",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Why `target` is impossible for this key, if it is.
    fn refuse_target(self, target: f64) -> Option<String> {
        if !target.is_finite() {
            return Some("must be a number".into());
        }
        match self {
            Self::ProfileComplete if target != 1.0 => {
                Some("must be 1 (the profile is complete)".into())
            }
            Self::BulkRunSuccessRate if !(0.0..=1.0).contains(&target) => {
                Some("must be a rate between 0 and 1".into())
            }
            Self::PassedChallenges | Self::PassedTrackChallenges | Self::ReviewedBatches
                if !(0.0..=MAX_COUNT).contains(&target) || target.fract() != 0.0 =>
            {
                Some(format!("must be a whole number from 0 to {MAX_COUNT}"))
            }
            _ => None,
        }
    }
}

const MAX_COUNT: f64 = 10_000.0;

/// One requirement of a tier in a track: `key` must reach `target`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct Requirement {
    /// 1–3 (Tier 4 is a manager's certification, Tier 5 the handoff).
    #[schema(minimum = 1, maximum = 3)]
    pub tier: i16,
    pub key: RequirementKey,
    /// Counts are whole numbers; `bulk_run_success_rate` a rate 0–1;
    /// `profile_complete` 1.
    pub target: f64,
}

/// A requirement as an admin sends it; checked by [`parse_requirements`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementSpec {
    #[schema(minimum = 1, maximum = 3, example = 2)]
    pub tier: i64,
    /// One of `profile_complete`, `passed_challenges`,
    /// `passed_track_challenges`, `reviewed_batches`, `bulk_run_success_rate`.
    #[schema(example = "passed_challenges")]
    pub key: String,
    #[schema(example = 3)]
    pub target: f64,
}

const MAX_REQUIREMENTS: usize = 30;

/// Checks a whole replacement list: every item's tier, key and target, and
/// no `(tier, key)` twice. Every problem at once, each named by its index.
pub fn parse_requirements(specs: &[RequirementSpec]) -> Result<Vec<Requirement>> {
    let mut errors = Vec::new();
    if specs.len() > MAX_REQUIREMENTS {
        errors.push(FieldError::new(
            "requirements",
            format!("at most {MAX_REQUIREMENTS} requirements"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let field = |f: &str| format!("requirements[{i}].{f}");
        let tier = i16::try_from(s.tier).ok().filter(|t| (1..=3).contains(t));
        if tier.is_none() {
            errors.push(FieldError::new(
                field("tier"),
                "must be 1, 2 or 3 (Tier 4 is certified by a manager, Tier 5 is the handoff)",
            ));
        }
        let key = RequirementKey::parse(&s.key);
        match key {
            None => errors.push(FieldError::new(
                field("key"),
                format!(
                    "unknown requirement; one of {}",
                    RequirementKey::ALL.map(RequirementKey::as_str).join(", ")
                ),
            )),
            Some(k) => {
                if let Some(why) = k.refuse_target(s.target) {
                    errors.push(FieldError::new(field("target"), why));
                }
            }
        }
        if let (Some(tier), Some(key)) = (tier, key) {
            if !seen.insert((tier, key)) {
                errors.push(FieldError::new(
                    field("key"),
                    "this tier already has this requirement",
                ));
            }
            out.push(Requirement {
                tier,
                key,
                target: s.target,
            });
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    out.sort_by_key(|r| (r.tier, r.key));
    Ok(out)
}

/// Whether a playbook is approved as onboarding-ready.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum PlaybookStatus {
    Draft,
    Approved,
}

/// The role playbook a track certifies against.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    #[schema(example = "Workflow engineer playbook")]
    pub title: String,
    #[schema(example = "https://handbook.example.com/playbooks/workflow-engineer")]
    pub url: String,
    #[schema(example = "2.1")]
    pub version: String,
    /// `approved` means onboarding-ready; certification needs it.
    pub status: PlaybookStatus,
}

impl Playbook {
    fn parse(self) -> Result<Self> {
        let mut v = Validator::default();
        let title = v.check(Text::parse("playbook.title", &self.title, 1, 200));
        let url = v.check(Url::parse("playbook.url", &self.url));
        let version = v.check(Text::parse("playbook.version", &self.version, 1, 32));
        v.finish_with(|| {
            Some(Self {
                title: title?.into_string(),
                url: url?.as_str().to_owned(),
                version: version?.into_string(),
                status: self.status,
            })
        })
    }
}

/// A track with its playbook, grace period and requirements.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackInfo {
    pub track: Track,
    pub name: String,
    /// How long a talent keeps an automatic tier (1–3) after its
    /// requirements stop holding (e.g. an overturned review).
    pub demotion_grace_days: i32,
    #[schema(required = true)]
    pub playbook: Option<Playbook>,
    /// By tier, then key.
    pub requirements: Vec<Requirement>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct TrackRow {
    track: Track,
    name: String,
    grace_days: i32,
    playbook_title: Option<String>,
    playbook_url: Option<String>,
    playbook_version: Option<String>,
    playbook_status: Option<PlaybookStatus>,
    updated_at: DateTime<Utc>,
}

impl TrackRow {
    fn info(self, requirements: Vec<Requirement>) -> TrackInfo {
        let playbook = match (
            self.playbook_title,
            self.playbook_url,
            self.playbook_version,
            self.playbook_status,
        ) {
            (Some(title), Some(url), Some(version), Some(status)) => Some(Playbook {
                title,
                url,
                version,
                status,
            }),
            _ => None,
        };
        TrackInfo {
            track: self.track,
            name: self.name,
            demotion_grace_days: self.grace_days,
            playbook,
            requirements,
            updated_at: self.updated_at,
        }
    }
}

#[derive(FromQueryResult)]
struct TrackRequirement {
    track: Track,
    tier: i16,
    key: RequirementKey,
    target: f64,
}

/// Every track's requirements, by track (each by tier, then key).
pub(crate) async fn requirements<C: ConnectionTrait>(
    db: &C,
) -> Result<BTreeMap<Track, Vec<Requirement>>> {
    let rows: Vec<TrackRequirement> = db::fetch_all(
        db,
        "SELECT track, tier, key, target FROM tier_requirements ORDER BY track, tier, key",
        [],
    )
    .await?;
    let mut out: BTreeMap<Track, Vec<Requirement>> = BTreeMap::new();
    for r in rows {
        out.entry(r.track).or_default().push(Requirement {
            tier: r.tier,
            key: r.key,
            target: r.target,
        });
    }
    for reqs in out.values_mut() {
        reqs.sort_by_key(|r| (r.tier, r.key));
    }
    Ok(out)
}

/// Every track as data, in the tracks' order.
pub async fn list_tracks<C: ConnectionTrait>(db: &C) -> Result<Vec<TrackInfo>> {
    let rows: Vec<TrackRow> = db::fetch_all(db, "SELECT * FROM tracks", []).await?;
    let mut reqs = requirements(db).await?;
    let mut out: Vec<TrackInfo> = rows
        .into_iter()
        .map(|r| {
            let track = r.track;
            r.info(reqs.remove(&track).unwrap_or_default())
        })
        .collect();
    out.sort_by_key(|t| t.track);
    Ok(out)
}

/// One track as data.
pub async fn get_track<C: ConnectionTrait>(db: &C, track: Track) -> Result<TrackInfo> {
    let row: TrackRow = db::fetch_one(db, "SELECT * FROM tracks WHERE track = $1", [track.into()])
        .await?
        .ok_or(DomainError::NotFound("track"))?;
    let reqs = requirements(db).await?.remove(&track).unwrap_or_default();
    Ok(row.info(reqs))
}

/// An admin's change of a track: its name, grace period or playbook.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackChange {
    #[schema(example = "Workflow engineer")]
    pub name: Option<String>,
    /// 0–365 days.
    #[schema(minimum = 0, maximum = 365, example = 14)]
    pub demotion_grace_days: Option<i64>,
    /// Replaces the playbook (all its fields).
    pub playbook: Option<Playbook>,
}

pub async fn update_track(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageTracks>,
    track: Track,
    change: TrackChange,
) -> Result<TrackInfo> {
    let mut v = Validator::default();
    let name = change
        .name
        .as_deref()
        .and_then(|n| v.check(Text::parse("name", n, 1, 80)));
    let grace = change.demotion_grace_days.and_then(|d| {
        let ok = i32::try_from(d).ok().filter(|d| (0..=365).contains(d));
        if ok.is_none() {
            v.push(FieldError::new("demotion_grace_days", "must be 0–365 days"));
        }
        ok
    });
    let playbook = match change.playbook.map(Playbook::parse).transpose() {
        Ok(p) => p,
        Err(DomainError::Validation(errors)) => {
            errors.into_iter().for_each(|e| v.push(e));
            None
        }
        Err(e) => return Err(e),
    };
    v.finish()?;
    let tx = db::begin_write(db).await?;
    let before = get_track(&tx, track).await?;
    let mut b = db::SqlBuilder::new("UPDATE tracks SET updated_at = ");
    let p = b.bind(now());
    b.push(&p);
    if let Some(name) = name {
        let p = b.bind(name.into_string());
        b.push(&format!(", name = {p}"));
    }
    if let Some(days) = grace {
        let p = b.bind(days);
        b.push(&format!(", grace_days = {p}"));
    }
    if let Some(pb) = playbook {
        let (t, u, ver, s) = (
            b.bind(pb.title),
            b.bind(pb.url),
            b.bind(pb.version),
            b.bind(pb.status),
        );
        b.push(&format!(
            ", playbook_title = {t}, playbook_url = {u}, playbook_version = {ver}, playbook_status = {s}"
        ));
    }
    let p = b.bind(track);
    b.push(&format!(" WHERE track = {p}"));
    db::execute(&tx, &b.sql, b.values).await?;
    let after = get_track(&tx, track).await?;
    audit::record(
        &tx,
        allowed.caller().actor(),
        "track.update",
        "track",
        Some(track.as_str().to_owned()),
        Some(audit::json(&before)),
        Some(audit::json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A background re-evaluation of a track's talents after its requirements
/// changed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum ReevaluationStatus {
    /// Batches are still being evaluated.
    Running,
    /// Every enrolled talent was evaluated.
    Done,
    /// A newer change of the same track's requirements took over.
    Superseded,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct Reevaluation {
    pub id: Uuid,
    pub track: Track,
    pub status: ReevaluationStatus,
    /// Talents evaluated so far.
    pub evaluated: i64,
    /// Of those, how many changed tier (or started or ended a grace period).
    pub moved: i64,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A track after its requirements were replaced, and the re-evaluation that
/// follows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequirementsChanged {
    pub track: TrackInfo,
    pub reevaluation: Reevaluation,
}

/// Replaces a track's requirements (audited) and starts re-evaluating its
/// talents; a re-evaluation of the track still running is superseded.
pub async fn set_requirements(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageTracks>,
    track: Track,
    specs: &[RequirementSpec],
) -> Result<RequirementsChanged> {
    let reqs = parse_requirements(specs)?;
    let tx = db::begin_write(db).await?;
    // Lock the track first: two replacements of one track run one after
    // the other (neither would see the other's uncommitted rows).
    db::execute(
        &tx,
        "UPDATE tracks SET updated_at = $1 WHERE track = $2",
        [now().into(), track.into()],
    )
    .await?;
    let before = get_track(&tx, track).await?;
    db::execute(
        &tx,
        "DELETE FROM tier_requirements WHERE track = $1",
        [track.into()],
    )
    .await?;
    for r in &reqs {
        db::execute(
            &tx,
            "INSERT INTO tier_requirements (track, tier, key, target) VALUES ($1, $2, $3, $4)",
            [track.into(), r.tier.into(), r.key.into(), r.target.into()],
        )
        .await?;
    }
    let at = now();
    db::execute(
        &tx,
        "UPDATE tracks SET updated_at = $1 WHERE track = $2",
        [at.into(), track.into()],
    )
    .await?;
    db::execute(
        &tx,
        "UPDATE tier_reevaluations SET status = 'superseded', finished_at = $1 \
         WHERE track = $2 AND status = 'running'",
        [at.into(), track.into()],
    )
    .await?;
    let id = new_id();
    db::execute(
        &tx,
        "INSERT INTO tier_reevaluations (id, track, status, after_talent, evaluated, moved, requested_by, created_at) \
         VALUES ($1, $2, 'running', NULL, 0, 0, $3, $4)",
        [id.into(), track.into(), allowed.caller().user_id().into(), at.into()],
    )
    .await?;
    let after = get_track(&tx, track).await?;
    audit::record(
        &tx,
        allowed.caller().actor(),
        "track.requirements",
        "track",
        Some(track.as_str().to_owned()),
        Some(audit::json(&before.requirements)),
        Some(audit::json(&after.requirements)),
    )
    .await?;
    let reevaluation = get_reevaluation(&tx, track, id).await?;
    tx.commit().await?;
    Ok(RequirementsChanged {
        track: after,
        reevaluation,
    })
}

pub async fn get_reevaluation<C: ConnectionTrait>(
    db: &C,
    track: Track,
    id: Uuid,
) -> Result<Reevaluation> {
    db::fetch_one(
        db,
        "SELECT id, track, status, evaluated, moved, created_at, finished_at FROM tier_reevaluations \
         WHERE id = $1 AND track = $2",
        [id.into(), track.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("re-evaluation"))
}

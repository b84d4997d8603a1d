//! Erasure: a person asks (with their password) or an admin decides, and
//! everything that identifies them goes — email, handle and names, bio,
//! links, asset URLs, session details, mail and tokens — while what others
//! rely on stays: the books, reviews, tier history and the audit log, now
//! pointing at a pseudonym. One transaction: it happens whole or not at all.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, FromQueryResult};
use serde_json::Value;
use uuid::Uuid;

use super::find_user;
use crate::caller::{Actor, UserCaller};
use crate::db::{self, SqlBuilder, begin_write};
use crate::entities::users;
use crate::error::{DomainError, FieldError, Result};
use crate::events::{self, Event, UserErased};
use crate::policy::{Allowed, ManageUsers};
use crate::types::UserStatus;
use crate::{audit, challenges, now, password, tiers};

/// What an erasure changed that caches outside the database must forget.
#[derive(Debug)]
pub struct Erased {
    pub user_id: Uuid,
    /// Challenges the person submitted to (their leaderboards showed the handle).
    pub challenges: Vec<Uuid>,
}

/// The pseudonym an erased person is known by from now on.
struct Pseudonym {
    email: String,
    handle: String,
    display_name: &'static str,
}

impl Pseudonym {
    /// Values nobody can register (a domain without a dot, a handle with a
    /// hyphen), so nobody can take them first and block the erasure.
    fn of(id: Uuid) -> Self {
        let simple = id.simple().to_string();
        Self {
            email: format!("erased+{simple}@erased"),
            handle: format!("erased-{}", &simple[simple.len() - 24..]),
            display_name: "Erased person",
        }
    }
}

/// The caller erases themselves; their password confirms it.
pub async fn erase_self(db: &DatabaseConnection, me: &UserCaller, pw: &str) -> Result<Erased> {
    let user = find_user(db, me.id).await?;
    if !password::verify(pw.to_owned(), Some(user.password_hash.clone())).await? {
        return Err(DomainError::Validation(vec![FieldError::new(
            "password",
            "is not your current password",
        )]));
    }
    erase(db, me.id, Actor::user(me.id)).await
}

/// An admin erases someone (audited).
pub async fn erase_user(
    db: &DatabaseConnection,
    allowed: &Allowed<ManageUsers>,
    target: Uuid,
) -> Result<Erased> {
    erase(db, target, allowed.caller().actor()).await
}

#[derive(FromQueryResult)]
struct Address {
    email: String,
}

#[derive(FromQueryResult)]
struct ChallengeId {
    challenge_id: Uuid,
}

async fn erase(db: &DatabaseConnection, id: Uuid, actor: Actor) -> Result<Erased> {
    // Nobody knows this password: hashed before the transaction (it takes a while).
    let unusable = password::hash(crate::secret::generate("")?).await?;
    let t = now();
    let tx = begin_write(db).await?;
    // Serialises with tier decisions and nominations about the person.
    tiers::lock_talent(&tx, id).await?;
    let user = find_user(&tx, id).await?;
    if user.status == UserStatus::Erased {
        return Err(DomainError::NotFound("user"));
    }
    let fake = Pseudonym::of(id);
    let old = personal_of(&tx, &user).await?;
    replace_identity(&tx, id, &fake, unusable, t).await?;
    forget_remembered(&tx, id, &old).await?;
    let challenges = strip_work(&tx, id, t).await?;
    // A certificate names its holder: revoked, and its signed text dropped.
    db::execute(
        &tx,
        "UPDATE certificates SET status = 'revoked', revoked_at = COALESCE(revoked_at, $1), \
         revoked_reason = COALESCE(revoked_reason, 'the account was erased'), credential = '', \
         pending_attestation = NULL \
         WHERE talent_id = $2",
        [t.into(), id.into()],
    )
    .await?;
    tiers::revoked(&tx, tiers::Revoked::AllOf(id)).await?;
    // The pods react: a placed person leaves the slot, pending nominations end.
    events::record(&tx, id, Event::UserErased(UserErased {})).await?;
    scrub_history(&tx, id, &old, &fake).await?;
    audit::record(
        &tx,
        actor,
        "user.erase",
        "user",
        Some(id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Erased {
        user_id: id,
        challenges,
    })
}

/// What identified the person: every address they used here (their own
/// and any pending change, not one that is someone else's now), handle
/// and name.
async fn personal_of(tx: &DatabaseTransaction, user: &users::Model) -> Result<Personal> {
    let id = user.id;
    let mut addresses: Vec<String> = db::fetch_all::<Address, _>(
        tx,
        "SELECT DISTINCT email FROM account_tokens WHERE user_id = $1 \
         AND email NOT IN (SELECT email FROM users WHERE id <> $1)",
        [id.into()],
    )
    .await?
    .into_iter()
    .map(|a| a.email.to_lowercase())
    .collect();
    addresses.push(user.email.to_lowercase());
    addresses.sort();
    addresses.dedup();
    Ok(Personal {
        addresses,
        handle: user.handle.clone(),
        display_name: user.display_name.clone(),
    })
}

/// The person's row takes the pseudonym and an unusable password; their
/// sessions end (without their device details) and their tokens go.
async fn replace_identity(
    tx: &DatabaseTransaction,
    id: Uuid,
    fake: &Pseudonym,
    unusable: String,
    t: DateTime<Utc>,
) -> Result<()> {
    db::execute(
        tx,
        "UPDATE users SET email = $1, handle = $2, display_name = $3, bio = NULL, portfolio_links = NULL, \
         password_hash = $4, status = 'erased', email_verified_at = NULL, erased_at = $5, updated_at = $5 \
         WHERE id = $6",
        [
            fake.email.clone().into(),
            fake.handle.clone().into(),
            fake.display_name.into(),
            unusable.into(),
            t.into(),
            id.into(),
        ],
    )
    .await?;
    db::execute(
        tx,
        "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1), revoked_reason = COALESCE(revoked_reason, 'erased'), \
         user_agent = NULL WHERE user_id = $2",
        [t.into(), id.into()],
    )
    .await?;
    db::execute(
        tx,
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        [id.into()],
    )
    .await?;
    db::execute(
        tx,
        "DELETE FROM account_tokens WHERE user_id = $1",
        [id.into()],
    )
    .await?;
    Ok(())
}

/// Remembered answers to the person's own requests hold their work, and
/// others' answers about them (a manager's certification or review, a
/// lead's accept) their name and work: both are forgotten, so a retry of
/// such a request runs again.
async fn forget_remembered(tx: &DatabaseTransaction, id: Uuid, old: &Personal) -> Result<()> {
    let mut b = SqlBuilder::new("DELETE FROM idempotency_keys WHERE scope = ");
    let p = b.bind(format!("user:{id}"));
    b.push(&p);
    for pattern in old.mentions(id) {
        let p = b.bind(pattern);
        b.push(&format!(
            " OR LOWER(CAST(response AS TEXT)) LIKE {p} ESCAPE '\\'"
        ));
    }
    db::execute(tx, &b.sql, b.values).await?;
    let mut b = SqlBuilder::new("DELETE FROM mail_outbox WHERE user_id = ");
    let p = b.bind(id);
    b.push(&p);
    let ps: Vec<String> = old.addresses.iter().map(|a| b.bind(a.as_str())).collect();
    b.push(&format!(" OR LOWER(to_address) IN ({})", ps.join(", ")));
    db::execute(tx, &b.sql, b.values).await?;
    Ok(())
}

/// Work still waiting for a decision is withdrawn (an erased person leaves
/// the pipeline); the work stays (reviews and the books cite it), where it
/// lives does not. Returns the challenges the person submitted to.
async fn strip_work(tx: &DatabaseTransaction, id: Uuid, t: DateTime<Utc>) -> Result<Vec<Uuid>> {
    challenges::withdraw_waiting_of(tx, id, t).await?;
    let challenges: Vec<Uuid> = db::fetch_all::<ChallengeId, _>(
        tx,
        "SELECT DISTINCT challenge_id FROM submissions WHERE talent_id = $1",
        [id.into()],
    )
    .await?
    .into_iter()
    .map(|c| c.challenge_id)
    .collect();
    db::execute(
        tx,
        "UPDATE submissions SET assets = $1 WHERE talent_id = $2",
        [serde_json::json!([]).into(), id.into()],
    )
    .await?;
    let workflows: Vec<Workflow> = db::fetch_all(
        tx,
        "SELECT id, workflow FROM submissions WHERE talent_id = $1",
        [id.into()],
    )
    .await?;
    for mut w in workflows {
        if drop_urls(&mut w.workflow) {
            db::execute(
                tx,
                "UPDATE submissions SET workflow = $1 WHERE id = $2",
                [w.workflow.into(), w.id.into()],
            )
            .await?;
        }
    }
    db::execute(
        tx,
        "DELETE FROM submission_assets WHERE talent_id = $1",
        [id.into()],
    )
    .await?;
    Ok(challenges)
}

/// What identified the person before.
struct Personal {
    addresses: Vec<String>,
    handle: String,
    display_name: String,
}

impl Personal {
    /// `LIKE` patterns for text that mentions the person: their id or an address.
    fn mentions(&self, id: Uuid) -> Vec<String> {
        std::iter::once(id.to_string())
            .chain(self.addresses.iter().cloned())
            .map(|m| db::contains_pattern(&m))
            .collect()
    }

    /// `text` without the person's addresses, handle or name.
    fn scrub_text(&self, text: &str, fake: &Pseudonym) -> String {
        let mut out = text.to_owned();
        for a in &self.addresses {
            out = replace_ignoring_case(&out, a, &fake.email);
        }
        out = replace_ignoring_case(&out, &self.handle, &fake.handle);
        replace_ignoring_case(&out, &self.display_name, fake.display_name)
    }
}

#[derive(FromQueryResult)]
struct Workflow {
    id: Uuid,
    workflow: Value,
}

/// Blanks every URL in a submission's workflow metadata (models, LoRAs and
/// inputs can be links to the person's files); whether anything changed.
fn drop_urls(v: &mut Value) -> bool {
    match v {
        Value::String(s) if s.contains("://") => {
            s.clear();
            true
        }
        Value::Array(items) => {
            let mut changed = false;
            for i in items {
                changed |= drop_urls(i);
            }
            changed
        }
        Value::Object(map) => {
            let mut changed = false;
            for i in map.values_mut() {
                changed |= drop_urls(i);
            }
            changed
        }
        _ => false,
    }
}

/// `text` with every occurrence of `needle` (in any case) replaced; needles
/// shorter than 3 characters are left (they would match inside other words).
fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> String {
    if needle.chars().count() < 3 {
        return text.to_owned();
    }
    let (lower, needle) = (text.to_lowercase(), needle.to_lowercase());
    if lower.len() != text.len() {
        // Lower-casing moved byte offsets: replace only exact matches.
        return text.replace(&needle, with);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (i, _) in lower.match_indices(&needle) {
        let end = i + needle.len();
        match (text.get(rest..i), text.get(i..end)) {
            (Some(before), Some(_)) => {
                out.push_str(before);
                out.push_str(with);
                rest = end;
            }
            _ => return text.replace(&needle, with),
        }
    }
    out.push_str(text.get(rest..).unwrap_or_default());
    out
}

#[derive(FromQueryResult)]
struct AuditRow {
    id: Uuid,
    target_type: String,
    target_id: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
}

#[derive(FromQueryResult)]
struct EventRow {
    id: Uuid,
    payload: Value,
}

/// The audit log, the events, the tier history's reasons and the
/// nominations stay, but what they say about the person now names the
/// pseudonym: snapshots of the person, their addresses, handle and name in
/// free text, and certificate texts.
async fn scrub_history<C: sea_orm::ConnectionTrait>(
    tx: &C,
    id: Uuid,
    old: &Personal,
    fake: &Pseudonym,
) -> Result<()> {
    let id_text = id.to_string();
    let mut b = SqlBuilder::new(
        "SELECT id, target_type, target_id, before, after FROM audit_log WHERE target_id = ",
    );
    let p = b.bind(id_text.clone());
    b.push(&p);
    let patterns = old.mentions(id);
    for pattern in &patterns {
        let p = b.bind(pattern.clone());
        b.push(&format!(
            " OR LOWER(CAST(before AS TEXT)) LIKE {p} ESCAPE '\\' OR LOWER(CAST(after AS TEXT)) LIKE {p} ESCAPE '\\'"
        ));
    }
    let rows: Vec<AuditRow> = db::fetch_all(tx, &b.sql, b.values).await?;
    for mut r in rows {
        let about = matches!(r.target_type.as_str(), "user" | "talent")
            && r.target_id.as_deref() == Some(id_text.as_str());
        for v in [&mut r.before, &mut r.after].into_iter().flatten() {
            scrub(v, about, old, fake);
        }
        db::execute(
            tx,
            "UPDATE audit_log SET before = $1, after = $2 WHERE id = $3",
            [r.before.into(), r.after.into(), r.id.into()],
        )
        .await?;
    }
    let mut b = SqlBuilder::new("SELECT id, payload FROM events WHERE subject_id = ");
    let p = b.bind(id);
    b.push(&p);
    for pattern in &patterns {
        let p = b.bind(pattern.clone());
        b.push(&format!(
            " OR LOWER(CAST(payload AS TEXT)) LIKE {p} ESCAPE '\\'"
        ));
    }
    let events: Vec<EventRow> = db::fetch_all(tx, &b.sql, b.values).await?;
    for mut e in events {
        scrub(&mut e.payload, false, old, fake);
        db::execute(
            tx,
            "UPDATE events SET payload = $1 WHERE id = $2",
            [e.payload.into(), e.id.into()],
        )
        .await?;
    }
    let changes: Vec<TierChangeText> = db::fetch_all(
        tx,
        "SELECT id, reason, evidence FROM tier_changes WHERE talent_id = $1",
        [id.into()],
    )
    .await?;
    for mut c in changes {
        scrub(&mut c.evidence, false, old, fake);
        db::execute(
            tx,
            "UPDATE tier_changes SET reason = $1, evidence = $2 WHERE id = $3",
            [
                old.scrub_text(&c.reason, fake).into(),
                c.evidence.into(),
                c.id.into(),
            ],
        )
        .await?;
    }
    let notes: Vec<NominationText> = db::fetch_all(
        tx,
        "SELECT id, note, decision_reason FROM nominations WHERE talent_id = $1",
        [id.into()],
    )
    .await?;
    for n in notes {
        db::execute(
            tx,
            "UPDATE nominations SET note = $1, decision_reason = $2 WHERE id = $3",
            [
                old.scrub_text(&n.note, fake).into(),
                n.decision_reason.map(|r| old.scrub_text(&r, fake)).into(),
                n.id.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct TierChangeText {
    id: Uuid,
    reason: String,
    evidence: Value,
}

#[derive(FromQueryResult)]
struct NominationText {
    id: Uuid,
    note: String,
    decision_reason: Option<String>,
}

/// Replaces the person's details in a stored snapshot. `about`: the
/// snapshot is of the person (its profile fields are theirs). Certificate
/// texts (which name their holder) are blanked wherever they appear.
fn scrub(v: &mut Value, about: bool, old: &Personal, fake: &Pseudonym) {
    match v {
        Value::Object(map) => {
            for (k, field) in map.iter_mut() {
                match (about, k.as_str()) {
                    (_, "credential") => *field = Value::String(String::new()),
                    (true, "email") => *field = Value::String(fake.email.clone()),
                    (true, "handle") => *field = Value::String(fake.handle.clone()),
                    (true, "display_name") => *field = Value::String(fake.display_name.into()),
                    (true, "bio") => *field = Value::Null,
                    (true, "portfolio_links") => *field = Value::Array(Vec::new()),
                    _ => scrub(field, about, old, fake),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| scrub(i, about, old, fake)),
        Value::String(s) => *s = old.scrub_text(s, fake),
        _ => {}
    }
}

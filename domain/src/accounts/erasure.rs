//! Erasure: a person asks (with their password) or an admin decides, and
//! everything that identifies them goes — email, handle and names, bio,
//! links, asset URLs, session details, mail and tokens — while what others
//! rely on stays: the books, reviews, tier history and the audit log, now
//! pointing at a pseudonym. One transaction: it happens whole or not at all.

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::Value;
use uuid::Uuid;

use super::find_user;
use crate::caller::{Actor, UserCaller};
use crate::db::{self, SqlBuilder, begin_write};
use crate::error::{DomainError, FieldError, Result};
use crate::policy::{Allowed, ManageUsers};
use crate::types::UserStatus;
use crate::{audit, events, now, password, tiers};

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
    fn of(id: Uuid) -> Self {
        let simple = id.simple().to_string();
        Self {
            // `.invalid` never resolves: no mail can reach it.
            email: format!("erased+{simple}@erased.invalid"),
            handle: format!("erased_{}", &simple[simple.len() - 12..]),
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
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let unusable = password::hash(hex::encode(secret)).await?;
    let t = now();
    let tx = begin_write(db).await?;
    // Serialises with tier decisions and nominations about the person.
    tiers::lock_talent(&tx, id).await?;
    let user = find_user(&tx, id).await?;
    if user.status == UserStatus::Erased {
        return Err(DomainError::NotFound("user"));
    }
    let fake = Pseudonym::of(id);
    // Every address the person used here: their own and any pending change.
    let mut addresses: Vec<String> = db::fetch_all::<Address, _>(
        &tx,
        "SELECT DISTINCT email FROM account_tokens WHERE user_id = $1",
        [id.into()],
    )
    .await?
    .into_iter()
    .map(|a| a.email.to_lowercase())
    .collect();
    addresses.push(user.email.to_lowercase());
    addresses.sort();
    addresses.dedup();
    let old = Personal {
        addresses,
        handle: user.handle.clone(),
    };

    db::execute(
        &tx,
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
        &tx,
        "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1), revoked_reason = COALESCE(revoked_reason, 'erased'), \
         user_agent = NULL WHERE user_id = $2",
        [t.into(), id.into()],
    )
    .await?;
    db::execute(
        &tx,
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        [id.into()],
    )
    .await?;
    db::execute(
        &tx,
        "DELETE FROM account_tokens WHERE user_id = $1",
        [id.into()],
    )
    .await?;
    let mut b = SqlBuilder::new("DELETE FROM mail_outbox WHERE user_id = ");
    let p = b.bind(id);
    b.push(&p);
    let ps: Vec<String> = old.addresses.iter().map(|a| b.bind(a.as_str())).collect();
    b.push(&format!(" OR LOWER(to_address) IN ({})", ps.join(", ")));
    db::execute(&tx, &b.sql, b.values).await?;

    // The work stays (reviews and the books cite it); where it lives does not.
    let challenges: Vec<Uuid> = db::fetch_all::<ChallengeId, _>(
        &tx,
        "SELECT DISTINCT challenge_id FROM submissions WHERE talent_id = $1",
        [id.into()],
    )
    .await?
    .into_iter()
    .map(|c| c.challenge_id)
    .collect();
    db::execute(
        &tx,
        "UPDATE submissions SET assets = $1 WHERE talent_id = $2",
        [serde_json::json!([]).into(), id.into()],
    )
    .await?;
    db::execute(
        &tx,
        "DELETE FROM submission_assets WHERE talent_id = $1",
        [id.into()],
    )
    .await?;
    // A certificate names its holder: revoked, and its signed text dropped.
    db::execute(
        &tx,
        "UPDATE certificates SET status = 'revoked', revoked_at = COALESCE(revoked_at, $1), \
         revoked_reason = COALESCE(revoked_reason, 'the account was erased'), credential = '' \
         WHERE talent_id = $2",
        [t.into(), id.into()],
    )
    .await?;
    // The pods react: a placed person leaves the slot, pending nominations end.
    events::record(&tx, "user.erased", "user", id, serde_json::json!({})).await?;
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

/// What identified the person before.
struct Personal {
    addresses: Vec<String>,
    handle: String,
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

/// The audit log and the events stay, but the snapshots of the person in
/// them now show the pseudonym, and no old address appears in them.
async fn scrub_history<C: sea_orm::ConnectionTrait>(
    tx: &C,
    id: Uuid,
    old: &Personal,
    fake: &Pseudonym,
) -> Result<()> {
    let mut b = SqlBuilder::new(
        "SELECT id, target_type, target_id, before, after FROM audit_log WHERE (target_type = 'user' AND target_id = ",
    );
    let p = b.bind(id.to_string());
    b.push(&p);
    b.push(")");
    for a in &old.addresses {
        let p = b.bind(db::contains_pattern(a));
        b.push(&format!(
            " OR LOWER(CAST(before AS TEXT)) LIKE {p} ESCAPE '\\' OR LOWER(CAST(after AS TEXT)) LIKE {p} ESCAPE '\\'"
        ));
    }
    let rows: Vec<AuditRow> = db::fetch_all(tx, &b.sql, b.values).await?;
    let id_text = id.to_string();
    for mut r in rows {
        let about = r.target_type == "user" && r.target_id.as_deref() == Some(id_text.as_str());
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
    let mut b = SqlBuilder::new("SELECT id, payload FROM events WHERE 1 = 0");
    for a in &old.addresses {
        let p = b.bind(db::contains_pattern(a));
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
    Ok(())
}

/// Replaces the person's details in a stored snapshot. `about`: the
/// snapshot is of the person (its profile fields are theirs).
fn scrub(v: &mut Value, about: bool, old: &Personal, fake: &Pseudonym) {
    match v {
        Value::Object(map) => {
            for (k, field) in map.iter_mut() {
                match (about, k.as_str()) {
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
        Value::String(s) => {
            if old
                .addresses
                .iter()
                .any(|a| s.to_lowercase().contains(a.as_str()))
            {
                // Addresses are stored lower-case, so they appear so; a
                // string that still holds one in another case goes whole.
                let mut out = s.clone();
                for a in &old.addresses {
                    out = out.replace(a.as_str(), &fake.email);
                }
                if old
                    .addresses
                    .iter()
                    .any(|a| out.to_lowercase().contains(a.as_str()))
                {
                    out = fake.email.clone();
                }
                *s = out;
            } else if about && *s == old.handle {
                *s = fake.handle.clone();
            }
        }
        _ => {}
    }
}

//! Who may do what: the one place that decides. Every domain operation that
//! is not open to any signed-in person takes an [`Allowed<A>`], which only
//! [`authorize`] makes, so an operation cannot run without its check and a new
//! route cannot forget it (it would not compile). The API obtains the proof in
//! its `Authorized<A>` extractor, before the handler reads the body, so a stranger to a
//! route gets 403, not a validation error. Data-dependent rules — whose
//! credits, whose hold — are the functions below, used by the operations.

use std::marker::PhantomData;

use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{DomainError, Result};
use crate::types::{Role, Scope};

/// An action that needs a permission.
pub trait Action {
    /// Who may, as the refusal says it ("this needs …").
    const WHO: &'static str;
    /// Whether a service API key may ask at all; when not, only a person's
    /// credentials are read (a key alone is "not signed in").
    const SERVICE_KEYS: bool = false;
    fn permits(caller: &Caller) -> bool;
}

/// Proof that `caller` may do `A`; made only by [`authorize`].
pub struct Allowed<A> {
    caller: Caller,
    _action: PhantomData<fn() -> A>,
}

impl<A> Allowed<A> {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}

/// Checks that `caller` may do `A`.
pub fn authorize<A: Action>(caller: Caller) -> Result<Allowed<A>> {
    if A::permits(&caller) {
        Ok(Allowed {
            caller,
            _action: PhantomData,
        })
    } else {
        Err(DomainError::Forbidden(Denied::Needs(A::WHO)))
    }
}

/// Why a caller was refused (403 `forbidden`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The action needs a role or scope the caller lacks.
    Needs(&'static str),
    /// A person moves only their own credits.
    OwnCreditsOnly,
    /// Nobody grants credits to themselves.
    SelfGrant,
    /// Nobody reverses a transaction of their own credits (a self-refund).
    SelfRefund,
    /// Nobody certifies, demotes or locks their own tier.
    OwnTier,
    /// Only an admin moves a talent out of Tier 5.
    TierFiveNeedsAdmin,
    /// Who nominated a talent does not also decide the nomination.
    OwnNomination,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Needs(who) => write!(f, "this needs {who}"),
            Self::OwnCreditsOnly => f.write_str("you can only use your own credits"),
            Self::SelfGrant => f.write_str("nobody can grant credits to themselves"),
            Self::SelfRefund => {
                f.write_str("nobody can reverse a transaction of their own credits")
            }
            Self::OwnTier => f.write_str("nobody can change their own tier"),
            Self::TierFiveNeedsAdmin => f.write_str("only an admin moves a talent out of Tier 5"),
            Self::OwnNomination => {
                f.write_str("who nominated a talent does not also decide the nomination")
            }
        }
    }
}

fn role(caller: &Caller, roles: &[Role]) -> bool {
    matches!(caller, Caller::User(u) if roles.iter().any(|r| u.roles.contains(*r)))
}

/// A signed-in person, or a service key with `scope`.
fn person_or_scope(caller: &Caller, scope: Scope) -> bool {
    match caller {
        Caller::User(_) => true,
        Caller::Service(s) => s.scopes.contains(&scope),
    }
}

macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident, $who:literal, $services:literal, |$c:ident| $rule:expr;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;
            impl Action for $name {
                const WHO: &'static str = $who;
                const SERVICE_KEYS: bool = $services;
                fn permits($c: &Caller) -> bool {
                    $rule
                }
            }
        )*
    };
}

const ADMIN: &[Role] = &[Role::Admin];
const MANAGER: &[Role] = &[Role::CommunityManager, Role::Admin];
const LEAD: &[Role] = &[Role::GenerativeLead, Role::Admin];
const STAFF: &[Role] = &[Role::CommunityManager, Role::GenerativeLead, Role::Admin];

actions! {
    /// Change someone's roles or status.
    ManageUsers, "the role of an admin", false, |c| role(c, ADMIN);
    /// Create, list, read and revoke service API keys.
    ManageApiKeys, "the role of an admin", false, |c| role(c, ADMIN);
    /// Read the audit log.
    ReadAuditLog, "the role of an admin", false, |c| role(c, ADMIN);
    /// Run the ledger reconciliation.
    CheckLedger, "the role of an admin", false, |c| role(c, ADMIN);
    /// Change the monthly allowance of a tier.
    SetAllowancePolicy, "the role of an admin", false, |c| role(c, ADMIN);
    /// Reverse a ledger transaction.
    ReverseTransaction, "the role of an admin", false, |c| role(c, ADMIN);
    /// Grant credits to a talent (never to oneself: see `grant`).
    GrantCredits, "the role of a community manager or an admin", false, |c| role(c, MANAGER);
    /// Search talents and see their private profile fields.
    SearchTalents, "the role of staff (community manager, generative lead or admin)", false, |c| role(c, STAFF);
    /// Create, edit and move challenges through their lifecycle.
    ManageChallenges, "the role of a community manager or an admin", false, |c| role(c, MANAGER);
    /// Review submissions against the rubric (never one's own: see `review`).
    ReviewSubmissions, "the role of a community manager or an admin", false, |c| role(c, MANAGER);
    /// Replace a track's tier requirements, edit its playbook and grace period.
    ManageTracks, "the role of an admin", false, |c| role(c, ADMIN);
    /// Enrol oneself in a track.
    EnrolInTrack, "a signed-in talent", false, |c| role(c, &[Role::Talent]);
    /// Certify a Tier 3 talent to Tier 4 (never oneself: see `certify`).
    CertifyTalents, "the role of a community manager or an admin", false, |c| role(c, MANAGER);
    /// Demote, revoke or lock a talent's tier (never one's own; out of Tier 5: admins).
    ChangeTiers, "the role of a community manager or an admin", false, |c| role(c, MANAGER);
    /// Keep pods: create and edit them, their slots, engagements and assignments.
    ManagePods, "the role of a generative lead or an admin", false, |c| role(c, LEAD);
    /// Read pods, open roles, nominations and the talent-engine dashboard.
    ViewTalentEngine, "the role of staff (community manager, generative lead or admin)", false, |c| role(c, STAFF);
    /// Nominate a Tier 4 talent for a pod role.
    NominateTalents, "the role of a community manager or an admin", false, |c| role(c, MANAGER);
    /// Accept or decline a nomination (the Tier 4 → 5 handoff).
    DecideHandoffs, "the role of a generative lead or an admin", false, |c| role(c, LEAD);
    /// Set the yearly targets the dashboard measures.
    SetTargets, "the role of an admin", false, |c| role(c, ADMIN);
    /// Submit work to a challenge (eligibility is the challenge's rule).
    SubmitWork, "a signed-in talent", false, |c| role(c, &[Role::Talent]);
    /// Claim one's monthly allowance.
    ClaimAllowance, "a signed-in talent", false, |c| matches!(c, Caller::User(_));
    /// Spend credits: a person (their own) or a service key with `credits:spend`.
    SpendCredits, "a signed-in person, or an API key with the scope credits:spend", true,
        |c| person_or_scope(c, Scope::CreditsSpend);
    /// Hold, capture and release credits: a person (their own) or a service
    /// key with `credits:hold`.
    HoldCredits, "a signed-in person, or an API key with the scope credits:hold", true,
        |c| person_or_scope(c, Scope::CreditsHold);
}

/// Staff see every talent's private data (balances, holds, history, email).
pub fn is_staff(caller: &Caller) -> bool {
    role(caller, STAFF)
}

/// A talent's own credits and holds are readable by them and by staff.
pub fn can_read_credits_of(caller: &Caller, talent: Uuid) -> bool {
    caller.user_id() == Some(talent) || is_staff(caller)
}

/// Credits are granted to, and transactions reversed for, a talent by
/// anyone allowed to but that talent: a refund to oneself is a self-grant.
pub fn may_move_credits_of(caller: &Caller, talent: Uuid) -> bool {
    caller.user_id() != Some(talent)
}

/// A hold is settled by its talent or by a service holding `credits:hold`.
pub fn can_settle_hold_of(caller: &Caller, talent: Uuid) -> bool {
    caller.user_id() == Some(talent) || caller.has_scope(Scope::CreditsHold)
}

/// The talent whose credits `caller` moves: a person moves only their own
/// (naming themselves or no one); a service names the talent.
pub fn credits_owner(caller: &Caller, named: Option<Uuid>) -> Result<Uuid> {
    match caller {
        Caller::User(u) => match named {
            None => Ok(u.id),
            Some(t) if t == u.id => Ok(t),
            Some(_) => Err(DomainError::Forbidden(Denied::OwnCreditsOnly)),
        },
        Caller::Service(_) => named
            .ok_or_else(|| DomainError::field("talent_id", "is required when a service key calls")),
    }
}

/// Admins may do what the other roles may not (e.g. move a talent out of Tier 5).
pub fn is_admin(caller: &Caller) -> bool {
    role(caller, ADMIN)
}

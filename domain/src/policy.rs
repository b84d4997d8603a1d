//! Who may do what: the one place that decides. Every domain operation that
//! is not open to any signed-in person takes an [`Allowed<A>`], which only
//! [`authorize`] makes, so an operation cannot run without its check and a new
//! route cannot forget it (it would not compile). The API obtains the proof in
//! its `Authorized<A>` extractor, before the handler reads the body, so a stranger to a
//! route gets 403, not a validation error. The rules that depend on whose a
//! resource is — the talent themself or staff, the owner of a hold or a
//! submission, anyone but the talent — are the ownership functions below
//! (`may_…`), which the operations ask with the owner they read.

use std::marker::PhantomData;

use uuid::Uuid;

use crate::caller::Caller;
use crate::enums::Topic;
pub use crate::error::{Conflict, Denied};
use crate::error::{DomainError, Result};
use crate::types::{Role, Roles, Scope, Tier, UserStatus};

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
    /// Register, change and delete webhook endpoints, their secrets and messages.
    ManageWebhooks, "the role of an admin", false, |c| role(c, ADMIN);
    /// Read the events as webhooks send them (`GET /events`).
    ReadEvents, "the role of an admin, or an API key with the scope events:read", true,
        |c| role(c, ADMIN) || c.has_scope(Scope::EventsRead);
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
    /// Read the review figures: backlog, reviewers' agreement, tiebreaks.
    ViewReviewMetrics, "the role of a community manager or an admin", false, |c| role(c, MANAGER);
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

/// Staff see every talent's private data (balances, holds, history, email)
/// and the fields of a view that only staff see.
pub fn is_staff(caller: &Caller) -> bool {
    role(caller, STAFF)
}

// Ownership: the rules that depend on whose a resource is, beside the role
// rules above. Each decides who may and how a refusal looks, and the two
// shapes are kept apart on purpose: another talent's private resource does
// not exist for the caller (404 `not_found`, so an id reveals nothing),
// while an act on something of one's own that only others may do is
// refused saying why (403 `forbidden`, or the rule's own code such as
// `own_submission`; the caller knows the resource already). Every
// operation asks one of these; none compares a caller with an owner itself.

/// Whether `caller` is the person `talent` (a service key is nobody).
fn is_self(caller: Option<&Caller>, talent: Uuid) -> bool {
    caller.and_then(Caller::user_id) == Some(talent)
}

/// A talent's private records — balance, transactions, holds, tier history,
/// their submissions across challenges: the talent themself or staff. To
/// anyone else the talent does not exist (404).
pub fn may_read_private_of<'a>(caller: impl Into<Option<&'a Caller>>, talent: Uuid) -> Result<()> {
    let caller = caller.into();
    if is_self(caller, talent) || caller.is_some_and(is_staff) {
        Ok(())
    } else {
        Err(DomainError::NotFound("talent"))
    }
}

/// A submission's reviews: the submission's talent or staff. To anyone
/// else the submission does not exist (404).
pub fn may_read_reviews_of(caller: &Caller, submission_talent: Uuid) -> Result<()> {
    if is_self(Some(caller), submission_talent) || is_staff(caller) {
        Ok(())
    } else {
        Err(DomainError::NotFound("submission"))
    }
}

/// A submission: its talent, staff, or anyone (signed in or not) once it
/// is `published` — its challenge closed and the work not withdrawn. To
/// anyone else it does not exist (404).
pub fn may_read_submission(caller: Option<&Caller>, talent: Uuid, published: bool) -> Result<()> {
    if is_self(caller, talent) || caller.is_some_and(is_staff) || published {
        Ok(())
    } else {
        Err(DomainError::NotFound("submission"))
    }
}

/// Which of a challenge's submissions a list shows its reader: the rule of
/// [`may_read_submission`] as a query's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionsShown {
    /// Staff: every submission.
    All,
    /// Before the challenge closes: the reader's own (none for an anonymous reader).
    Own(Option<Uuid>),
    /// Once it is closed: all but withdrawn ones, and the reader's own withdrawn ones.
    PublishedAndOwn(Option<Uuid>),
}

/// The submissions of a challenge, `closed` or not, that `caller` sees in a list.
pub fn submissions_shown(caller: Option<&Caller>, closed: bool) -> SubmissionsShown {
    let me = caller.and_then(Caller::user_id);
    if caller.is_some_and(is_staff) {
        SubmissionsShown::All
    } else if closed {
        SubmissionsShown::PublishedAndOwn(me)
    } else {
        SubmissionsShown::Own(me)
    }
}

/// Editing or withdrawing a submission: its talent only (staff neither). To
/// anyone else it does not exist (404).
pub fn may_change_submission(caller: &Caller, talent: Uuid) -> Result<()> {
    if is_self(Some(caller), talent) {
        Ok(())
    } else {
        Err(DomainError::NotFound("submission"))
    }
}

/// Appealing a submission's review: its talent only (staff neither). To
/// anyone else the submission does not exist (404).
pub fn may_appeal_work_of(caller: &Caller, talent: Uuid) -> Result<()> {
    if is_self(Some(caller), talent) {
        Ok(())
    } else {
        Err(DomainError::NotFound("submission"))
    }
}

/// A hold, to read, capture or release: its talent, or a service holding
/// `credits:hold` (for any talent's). Staff see a talent's holds in their
/// list ([`may_read_private_of`]) but do not settle them. To anyone else
/// the hold does not exist (404).
pub fn may_settle_hold(caller: &Caller, talent: Uuid) -> Result<()> {
    if is_self(Some(caller), talent) || caller.has_scope(Scope::CreditsHold) {
        Ok(())
    } else {
        Err(DomainError::NotFound("hold"))
    }
}

/// The talent whose credits `caller` spends or holds: a person moves only
/// their own (naming themselves or no one; another talent is 403); a service
/// acts on any talent's credits, and must name the talent.
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

/// Credits are granted to a talent by anyone allowed to but that talent (403).
pub fn may_grant_to(caller: &Caller, talent: Uuid) -> Result<()> {
    if is_self(Some(caller), talent) {
        Err(DomainError::Forbidden(Denied::SelfGrant))
    } else {
        Ok(())
    }
}

/// A transaction is reversed by anyone allowed to but its talent: a refund
/// to oneself is a self-grant (403).
pub fn may_reverse_for(caller: &Caller, talent: Uuid) -> Result<()> {
    if is_self(Some(caller), talent) {
        Err(DomainError::Forbidden(Denied::SelfRefund))
    } else {
        Ok(())
    }
}

/// A submission is reviewed by anyone allowed to but its talent (403
/// `conflict_of_interest`, `author`).
pub fn may_review_work_of(caller: &Caller, talent: Uuid) -> Result<()> {
    if is_self(Some(caller), talent) {
        Err(DomainError::ConflictOfInterest(Conflict::Author))
    } else {
        Ok(())
    }
}

/// What the records say of a reviewer and a submission's talent (read by
/// `challenges::conflicts`): whether they already reviewed it, nominated
/// or certified the talent in the challenge's track.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewerRecord {
    pub reviewed: bool,
    pub nominated: bool,
    pub certified: bool,
}

/// A review (or a claim of a review seat) is independent: not by the
/// submission's talent, not by who already reviewed it, not by the manager
/// who nominated or certified the talent in the track (403
/// `conflict_of_interest`, naming the first that applies).
pub fn conflict_of_interest(caller: &Caller, talent: Uuid, record: ReviewerRecord) -> Result<()> {
    may_review_work_of(caller, talent)?;
    let conflict = if record.reviewed {
        Conflict::AlreadyReviewed
    } else if record.nominated {
        Conflict::Nominated
    } else if record.certified {
        Conflict::Certified
    } else {
        return Ok(());
    };
    Err(DomainError::ConflictOfInterest(conflict))
}

/// Whether `caller` sees who wrote a submission (its talent's id; an alias
/// otherwise). While it is `under_review` (its challenge judging), whoever
/// may hold one of its review seats — a community manager or an admin —
/// sees it blind, unless it is their own work; its talent and staff who
/// do not review (a generative lead) see the author, and everyone who may
/// read it does once the challenge has closed.
pub fn sees_author(caller: Option<&Caller>, talent: Uuid, under_review: bool) -> bool {
    !under_review || is_self(caller, talent) || !caller.is_some_and(|c| role(c, MANAGER))
}

/// A claim of a review seat is extended by the reviewer holding it (403).
pub fn may_extend_claim_of(caller: &Caller, holder: Uuid) -> Result<()> {
    if is_self(Some(caller), holder) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(Denied::NotYourClaim))
    }
}

/// A claim is released by the reviewer holding it, or by an admin (a
/// seat held by someone who left for the day) (403).
pub fn may_release_claim_of(caller: &Caller, holder: Uuid) -> Result<()> {
    if is_self(Some(caller), holder) || role(caller, ADMIN) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(Denied::NotYourClaim))
    }
}

/// A review is overturned by another reviewer than the one who wrote it (409
/// `same_reviewer`): a second opinion is someone else's.
pub fn may_overturn_review_of(caller: &Caller, reviewer: Uuid) -> Result<()> {
    if is_self(Some(caller), reviewer) {
        Err(DomainError::SameReviewer)
    } else {
        Ok(())
    }
}

/// A talent's tier — certified, demoted, locked, nominated, handed off — is
/// changed by anyone allowed to but that talent (403).
pub fn may_change_tier_of(caller: &Caller, talent: Uuid) -> Result<()> {
    if is_self(Some(caller), talent) {
        Err(DomainError::Forbidden(Denied::OwnTier))
    } else {
        Ok(())
    }
}

/// A talent leaves Tier 5 only by an admin's hand (403).
pub fn may_move_out_of(caller: &Caller, from: Tier) -> Result<()> {
    if from.get() == Tier::MAX && !role(caller, ADMIN) {
        Err(DomainError::Forbidden(Denied::TierFiveNeedsAdmin))
    } else {
        Ok(())
    }
}

/// A nomination is decided by anyone allowed to but who made it (403).
pub fn may_decide_nomination(caller: &Caller, nominated_by: Uuid) -> Result<()> {
    if is_self(Some(caller), nominated_by) {
        Err(DomainError::Forbidden(Denied::OwnNomination))
    } else {
        Ok(())
    }
}

/// An admin changes anyone's roles and status, but does not take their own
/// admin role away or suspend themselves (409).
pub fn may_change_user(
    caller: &Caller,
    target: Uuid,
    roles: Option<&Roles>,
    status: Option<UserStatus>,
) -> Result<()> {
    if !is_self(Some(caller), target) {
        return Ok(());
    }
    if roles.is_some_and(|r| !r.contains(Role::Admin)) {
        return Err(DomainError::OwnAdminRole);
    }
    if status == Some(UserStatus::Suspended) {
        return Err(DomainError::SelfSuspension);
    }
    Ok(())
}

/// Whether `caller` may follow a staff topic on the live stream: whoever
/// reads those events' resources elsewhere. Reviews are the reviewers'
/// (managers, admins); accounts (suspensions, erasures) the admins'; the
/// rest, like every talent's private data, all staff's.
pub fn may_follow(caller: &Caller, topic: Topic) -> Result<()> {
    let (roles, who): (&[Role], &'static str) = match topic {
        Topic::Reviews => (MANAGER, "the role of a community manager or an admin"),
        Topic::Accounts => (ADMIN, "the role of an admin"),
        Topic::Handoffs | Topic::Challenges | Topic::Tiers | Topic::Credits => (
            STAFF,
            "the role of staff (community manager, generative lead or admin)",
        ),
    };
    if role(caller, roles) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(Denied::Needs(who)))
    }
}

#[cfg(test)]
mod tests;

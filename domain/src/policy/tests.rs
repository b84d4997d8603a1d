//! The role and ownership rules of `policy`, unit by unit.

use super::*;
use crate::caller::{ServiceCaller, UserCaller};

fn person(roles: &[Role]) -> Caller {
    Caller::User(UserCaller {
        id: Uuid::now_v7(),
        session_id: Uuid::now_v7(),
        roles: Roles::new(roles.to_vec()),
    })
}

fn service(scopes: Vec<Scope>) -> Caller {
    Caller::Service(ServiceCaller {
        key_id: Uuid::now_v7(),
        scopes,
    })
}

fn id(c: &Caller) -> Uuid {
    c.user_id().expect("a person")
}

fn code(r: Result<()>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

#[test]
fn private_records_are_the_talents_and_the_staffs_and_absent_to_others() {
    let (me, other) = (person(&[Role::Talent]), person(&[Role::Talent]));
    let staff = person(&[Role::Talent, Role::GenerativeLead]);
    assert!(may_read_private_of(&me, id(&me)).is_ok());
    assert!(may_read_private_of(&staff, id(&me)).is_ok());
    assert_eq!(
        code(may_read_private_of(&other, id(&me))),
        Some("not_found")
    );
    assert_eq!(code(may_read_private_of(None, id(&me))), Some("not_found"));
    assert_eq!(
        code(may_read_private_of(
            &service(vec![Scope::CreditsHold]),
            id(&me)
        )),
        Some("not_found")
    );
    assert_eq!(
        code(may_read_reviews_of(&other, id(&me))),
        Some("not_found")
    );
    assert!(may_read_reviews_of(&staff, id(&me)).is_ok());
}

#[test]
fn a_submission_is_changed_by_its_talent_alone_and_read_by_all_once_published() {
    let (me, other) = (person(&[Role::Talent]), person(&[Role::Talent]));
    let admin = person(&[Role::Talent, Role::Admin]);
    assert!(may_change_submission(&me, id(&me)).is_ok());
    assert_eq!(
        code(may_change_submission(&admin, id(&me))),
        Some("not_found")
    );
    assert_eq!(
        code(may_read_submission(Some(&other), id(&me), false)),
        Some("not_found")
    );
    assert!(may_read_submission(None, id(&me), true).is_ok());
    assert!(may_read_submission(Some(&admin), id(&me), false).is_ok());
    assert_eq!(
        submissions_shown(Some(&admin), false),
        SubmissionsShown::All
    );
    assert_eq!(
        submissions_shown(Some(&me), false),
        SubmissionsShown::Own(Some(id(&me)))
    );
    assert_eq!(
        submissions_shown(None, true),
        SubmissionsShown::PublishedAndOwn(None)
    );
}

#[test]
fn a_hold_is_its_talents_or_a_holding_services() {
    let (me, other) = (person(&[Role::Talent]), person(&[Role::Talent]));
    let admin = person(&[Role::Talent, Role::Admin]);
    assert!(may_settle_hold(&me, id(&me)).is_ok());
    assert!(may_settle_hold(&service(vec![Scope::CreditsHold]), id(&me)).is_ok());
    assert_eq!(
        code(may_settle_hold(
            &service(vec![Scope::CreditsSpend]),
            id(&me)
        )),
        Some("not_found")
    );
    assert_eq!(code(may_settle_hold(&other, id(&me))), Some("not_found"));
    assert_eq!(code(may_settle_hold(&admin, id(&me))), Some("not_found"));
}

#[test]
fn what_only_others_may_do_to_a_talent_is_refused_to_that_talent() {
    let manager = person(&[Role::Talent, Role::CommunityManager]);
    let talent = Uuid::now_v7();
    let m = id(&manager);
    assert_eq!(code(may_grant_to(&manager, m)), Some("forbidden"));
    assert_eq!(code(may_reverse_for(&manager, m)), Some("forbidden"));
    assert_eq!(code(may_change_tier_of(&manager, m)), Some("forbidden"));
    assert_eq!(code(may_decide_nomination(&manager, m)), Some("forbidden"));
    assert_eq!(
        code(may_review_work_of(&manager, m)),
        Some("conflict_of_interest")
    );
    assert_eq!(
        code(may_overturn_review_of(&manager, m)),
        Some("same_reviewer")
    );
    for rule in [
        may_grant_to,
        may_reverse_for,
        may_change_tier_of,
        may_decide_nomination,
        may_review_work_of,
        may_overturn_review_of,
    ] {
        assert!(rule(&manager, talent).is_ok());
    }
    let five = Tier::new(5).expect("tier");
    assert_eq!(code(may_move_out_of(&manager, five)), Some("forbidden"));
    assert!(may_move_out_of(&person(&[Role::Admin]), five).is_ok());
    assert!(may_move_out_of(&manager, Tier::new(4).expect("tier")).is_ok());
}

#[test]
fn reviews_are_independent_and_blind() {
    let manager = person(&[Role::CommunityManager]);
    let (admin, lead) = (person(&[Role::Admin]), person(&[Role::GenerativeLead]));
    let (talent, m) = (Uuid::now_v7(), id(&manager));
    let named = |r: Result<()>| r.err().and_then(|e| e.conflict()).map(Conflict::as_str);
    let none = ReviewerRecord::default();
    assert!(conflict_of_interest(&manager, talent, none).is_ok());
    assert_eq!(
        named(conflict_of_interest(&manager, m, none)),
        Some("author")
    );
    let (yes, no) = (true, false);
    for (reviewed, nominated, certified, which) in [
        (yes, no, no, "already_reviewed"),
        (no, yes, no, "nominated"),
        (no, no, yes, "certified"),
    ] {
        let record = ReviewerRecord {
            reviewed,
            nominated,
            certified,
        };
        assert_eq!(
            named(conflict_of_interest(&manager, talent, record)),
            Some(which)
        );
    }
    // Blind while under review, to whoever may review it.
    assert!(!sees_author(Some(&manager), talent, true));
    assert!(!sees_author(Some(&admin), talent, true));
    assert!(sees_author(Some(&manager), m, true), "their own work");
    assert!(
        sees_author(Some(&lead), talent, true),
        "staff who do not review"
    );
    assert!(sees_author(Some(&admin), talent, false), "after judging");
}

#[test]
fn a_person_moves_their_own_credits_and_a_service_names_whose() {
    let me = person(&[Role::Talent]);
    let other = Uuid::now_v7();
    assert_eq!(credits_owner(&me, None).ok(), Some(id(&me)));
    assert_eq!(credits_owner(&me, Some(id(&me))).ok(), Some(id(&me)));
    assert_eq!(
        credits_owner(&me, Some(other)).err().map(|e| e.code()),
        Some("forbidden")
    );
    let svc = service(vec![Scope::CreditsSpend]);
    assert_eq!(credits_owner(&svc, Some(other)).ok(), Some(other));
    assert!(credits_owner(&svc, None).is_err());
}

#[test]
fn an_admin_keeps_their_own_admin_role_and_status() {
    let admin = person(&[Role::Talent, Role::Admin]);
    let me = id(&admin);
    let talent_only = Roles::new(vec![Role::Talent]);
    assert_eq!(
        code(may_change_user(&admin, me, Some(&talent_only), None)),
        Some("cannot_remove_own_admin_role")
    );
    assert_eq!(
        code(may_change_user(
            &admin,
            me,
            None,
            Some(UserStatus::Suspended)
        )),
        Some("cannot_suspend_self")
    );
    assert!(may_change_user(&admin, me, None, Some(UserStatus::Active)).is_ok());
    assert!(
        may_change_user(
            &admin,
            Uuid::now_v7(),
            Some(&talent_only),
            Some(UserStatus::Suspended)
        )
        .is_ok()
    );
}

//! The typed events: every kind round-trips through each database, rows
//! written before the types existed still decode, a row that does not
//! decode is an error (logged and counted) rather than skipped, and the
//! committed `openapi/events.json` is what the code generates.

use chrono::Utc;
use kartel_domain::challenges::{
    Appeal, AppealStatus, ChallengeStatus, Claim, Decision, Disagreement, Outcome, Review,
    ReviewRecorded, ReviewsNeeded, SeatKind, TiebreakNeeded,
};
use kartel_domain::events::{
    self, CertificateIssued, CertificateRevoked, ChallengeMoved, ClaimReleased, Clock,
    CreditsMoved, Event, EventKind, HandoffAccepted, MovedBy, PodAssigned, PodUnassigned,
    PrizePaid, ProfileUpdated, ReviewDecided, RevocationCause, StatusChanged, TierDemoted,
    UserErased,
};
use kartel_domain::ledger::TransactionKind;
use kartel_domain::pods::{Nomination, NominationStatus, Slot, SlotStatus};
use kartel_domain::tiers::TierChange;
use kartel_domain::types::{Amount, Tier, Track, UserStatus};
use sea_orm::Iterable;
use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

fn review() -> Review {
    Review {
        id: Uuid::new_v4(),
        submission_id: Uuid::new_v4(),
        challenge_id: Uuid::new_v4(),
        talent_id: Uuid::new_v4(),
        reviewer_id: Uuid::new_v4(),
        rubric_version: 2,
        scores: json!({ "composition": 8.0, "lighting": 7.5 }),
        total: 77.5,
        decision: Decision::Accepted,
        outputs_meeting_standard: 3,
        feedback: "Strong light; the crop fights the subject.".to_owned(),
        overturns_id: Some(Uuid::new_v4()),
        reward_transaction_id: Some(Uuid::new_v4()),
        reversal_transaction_id: None,
        reward_owed: 0,
        created_at: Utc::now(),
        seat: Some(1),
    }
}

fn claim(kind: SeatKind) -> Claim {
    Claim {
        id: Uuid::new_v4(),
        submission_id: Uuid::new_v4(),
        challenge_id: Uuid::new_v4(),
        track: Some(Track::Preditor),
        seat: 1,
        kind,
        reviewer_id: Uuid::new_v4(),
        claimed_at: Utc::now(),
        lease_expires_at: Utc::now(),
    }
}

fn slot(talent: Option<Uuid>) -> Slot {
    Slot {
        id: Uuid::new_v4(),
        pod_id: Uuid::new_v4(),
        track: Track::Preditor,
        status: if talent.is_some() {
            SlotStatus::Filled
        } else {
            SlotStatus::Open
        },
        talent_id: talent,
        filled_at: talent.map(|_| Utc::now()),
        created_at: Utc::now(),
        suspended: false,
    }
}

fn nomination(status: NominationStatus) -> Nomination {
    Nomination {
        id: Uuid::new_v4(),
        talent_id: Uuid::new_v4(),
        track: Track::DataEngineer,
        slot_id: None,
        note: "Ready for a pod".to_owned(),
        status,
        nominated_by: Uuid::new_v4(),
        decided_by: None,
        decision_reason: None,
        placed_slot_id: None,
        expires_at: Utc::now(),
        created_at: Utc::now(),
        decided_at: None,
    }
}

fn moved(to: ChallengeStatus, by: MovedBy) -> ChallengeMoved {
    ChallengeMoved {
        from: ChallengeStatus::Open,
        to,
        reason: None,
        by,
        prizes: None,
    }
}

/// One event of each kind, filled in as the code fills them. The match has
/// no wildcard: a new kind does not compile until it has a sample here.
fn sample(kind: EventKind) -> Event {
    let tier = |t| Tier::new(t).unwrap();
    let decided = |previous| ReviewDecided {
        review: review(),
        previous_decision: previous,
        track: Some(Track::AiGeneralist),
        certifies_track: None,
        outcome: None,
    };
    match kind {
        EventKind::SubmissionReviewed => Event::SubmissionReviewed(decided(None)),
        EventKind::SubmissionReviewOverturned => {
            Event::SubmissionReviewOverturned(decided(Some(Decision::Rejected)))
        }
        EventKind::SubmissionRescored => Event::SubmissionRescored(ReviewDecided {
            outcome: Some(Outcome {
                decision: Decision::Accepted,
                score: 71.5,
                outputs_meeting_standard: 2,
                reviews: 3,
                tiebreak: true,
            }),
            ..decided(Some(Decision::Rejected))
        }),
        EventKind::ChallengeOpened => Event::ChallengeOpened(ChallengeMoved {
            from: ChallengeStatus::Draft,
            ..moved(ChallengeStatus::Open, MovedBy::Caller(Some(Uuid::new_v4())))
        }),
        EventKind::ChallengeJudging => Event::ChallengeJudging(moved(
            ChallengeStatus::Judging,
            MovedBy::Clock(Clock::Clock),
        )),
        EventKind::ChallengeClosed => Event::ChallengeClosed(ChallengeMoved {
            from: ChallengeStatus::Judging,
            prizes: Some(vec![PrizePaid {
                place: 1,
                talent_id: Uuid::new_v4(),
                submission_id: Uuid::new_v4(),
                amount: Amount::parse("amount", 500).unwrap(),
                transaction_id: Uuid::new_v4(),
            }]),
            ..moved(ChallengeStatus::Closed, MovedBy::Caller(None))
        }),
        EventKind::ChallengeCancelled => Event::ChallengeCancelled(ChallengeMoved {
            reason: Some("The brief leaked".to_owned()),
            ..moved(
                ChallengeStatus::Cancelled,
                MovedBy::Caller(Some(Uuid::new_v4())),
            )
        }),
        EventKind::ProfileUpdated => Event::ProfileUpdated(ProfileUpdated {
            profile_complete: true,
        }),
        EventKind::UserSuspended => Event::UserSuspended(StatusChanged {
            from: UserStatus::Active,
            to: UserStatus::Suspended,
        }),
        EventKind::UserReactivated => Event::UserReactivated(StatusChanged {
            from: UserStatus::Suspended,
            to: UserStatus::Active,
        }),
        EventKind::UserErased => Event::UserErased(UserErased {}),
        EventKind::TierChanged => Event::TierChanged(TierChange {
            id: Uuid::new_v4(),
            talent_id: Uuid::new_v4(),
            track: Track::WorkflowEngineer,
            from_tier: 3,
            to_tier: 4,
            actor_kind: "user".to_owned(),
            actor_id: Some(Uuid::new_v4()),
            reason: "certified".to_owned(),
            evidence: json!({ "submission_id": Uuid::new_v4() }),
            certificate_id: Some(Uuid::new_v4()),
            created_at: Utc::now(),
        }),
        EventKind::TierDemoted => Event::TierDemoted(TierDemoted {
            track: Track::DataLoraSpecialist,
            from: tier(5),
            to: tier(3),
        }),
        EventKind::PodAssigned => Event::PodAssigned(PodAssigned {
            slot: slot(Some(Uuid::new_v4())),
            from_slot_id: Some(Uuid::new_v4()),
        }),
        EventKind::PodUnassigned => Event::PodUnassigned(PodUnassigned {
            slot_id: Uuid::new_v4(),
            talent_id: Uuid::new_v4(),
            reason: Some("demoted out of Tier 5".to_owned()),
            slot: None,
        }),
        EventKind::HandoffNominated => {
            Event::HandoffNominated(nomination(NominationStatus::Pending))
        }
        EventKind::HandoffAccepted => Event::HandoffAccepted(HandoffAccepted {
            nomination: nomination(NominationStatus::Accepted),
            pod_id: Uuid::new_v4(),
            slot_id: Uuid::new_v4(),
        }),
        EventKind::HandoffDeclined => {
            Event::HandoffDeclined(nomination(NominationStatus::Declined))
        }
        EventKind::ReviewNeeded => Event::ReviewNeeded(ReviewsNeeded {
            challenge_id: Uuid::new_v4(),
            track: None,
            kind: SeatKind::Regular,
            seats: 12,
        }),
        EventKind::ReviewClaimed => Event::ReviewClaimed(claim(SeatKind::Regular)),
        EventKind::ReviewLeaseExpired => Event::ReviewLeaseExpired(claim(SeatKind::Tiebreak)),
        EventKind::ReviewReleased => Event::ReviewReleased(ClaimReleased {
            claim: claim(SeatKind::Regular),
            released_by: Some(Uuid::new_v4()),
        }),
        EventKind::ReviewRecorded => Event::ReviewRecorded(ReviewRecorded {
            review: review(),
            awaiting: 1,
        }),
        EventKind::ReviewTiebreakNeeded => Event::ReviewTiebreakNeeded(TiebreakNeeded {
            submission_id: Uuid::new_v4(),
            challenge_id: Uuid::new_v4(),
            track: Some(Track::Preditor),
            seat: 3,
            disagreement: Disagreement::Scores,
            gap: 22.5,
            threshold: 15.0,
        }),
        EventKind::AppealFiled => Event::AppealFiled(appeal(AppealStatus::Open)),
        EventKind::AppealAnswered => Event::AppealAnswered(appeal(AppealStatus::Upheld)),
        EventKind::CreditsMoved => Event::CreditsMoved(CreditsMoved {
            transaction_id: Uuid::new_v4(),
            talent_id: Uuid::new_v4(),
            kind: TransactionKind::Capture,
            amount: -40,
            balance_after: 960,
        }),
        EventKind::CertificateIssued => Event::CertificateIssued(CertificateIssued {
            certificate_id: Uuid::new_v4(),
            talent_id: Uuid::new_v4(),
            track: Track::DataLoraSpecialist,
            replaces: Some(Uuid::new_v4()),
        }),
        EventKind::CertificateRevoked => Event::CertificateRevoked(CertificateRevoked {
            certificate_id: Uuid::new_v4(),
            talent_id: Uuid::new_v4(),
            track: Track::WorkflowEngineer,
            cause: RevocationCause::EvidenceOverturned,
        }),
    }
}

fn appeal(status: AppealStatus) -> Appeal {
    let open = status == AppealStatus::Open;
    Appeal {
        id: Uuid::new_v4(),
        submission_id: Uuid::new_v4(),
        challenge_id: Uuid::new_v4(),
        criterion: "lighting".to_owned(),
        appellant_id: Uuid::new_v4(),
        review_id: Uuid::new_v4(),
        reviewer_id: Uuid::new_v4(),
        reason: "The light follows the brief".to_owned(),
        status,
        filed_at: Utc::now(),
        respond_by: Utc::now(),
        answered_by: (!open).then(Uuid::new_v4),
        answered_at: (!open).then(Utc::now),
        response: (!open).then(|| "Agreed".to_owned()),
        initial_score: 5.0,
        final_score: (!open).then_some(8.0),
        rescore_review_id: (!open).then(Uuid::new_v4),
    }
}

#[test]
fn committed_events_document_matches_the_code() {
    let generated = events::schema_document();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/events.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/events.json exists"))
            .expect("valid JSON");
    assert!(
        generated == committed,
        "openapi/events.json is out of date: run `cargo run -- events-schema > openapi/events.json`"
    );
}

#[test]
fn every_kind_is_tagged_by_its_name_and_has_its_payload_schema() {
    let doc = events::schema_document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let listed: Vec<&str> = doc["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["type"].as_str().unwrap())
        .collect();
    let kinds: Vec<EventKind> = EventKind::iter().collect();
    assert_eq!(
        listed.len(),
        kinds.len(),
        "the document lists every kind once"
    );
    for kind in kinds {
        let event = sample(kind);
        assert_eq!(event.kind(), kind, "the sample of {kind:?} is of its kind");
        let tagged = serde_json::to_value(&event).unwrap();
        assert_eq!(
            tagged["type"],
            kind.as_str(),
            "{kind:?} is stored under its name"
        );
        assert!(
            listed.contains(&kind.as_str()),
            "{kind:?} is in the document"
        );
        assert!(
            schemas.contains_key(kind.payload_schema()),
            "{kind:?}'s payload schema {} is in the document",
            kind.payload_schema()
        );
    }
}

both_backends! {
    async fn every_kind_round_trips_through_the_database(app: &TestApp) {
        let subject = Uuid::new_v4();
        let mut written = Vec::new();
        for kind in EventKind::iter() {
            let event = sample(kind);
            events::write_row_for_tests(&app.db, subject, &event).await.unwrap();
            written.push(event);
        }
        let read = events::about(&app.db, subject).await.unwrap();
        assert_eq!(read.len(), written.len());
        for (stored, event) in read.iter().zip(&written) {
            // Compared as JSON: what a consumer sees, to the last field.
            assert_eq!(serde_json::to_value(&stored.event).unwrap(), serde_json::to_value(event).unwrap());
            assert_eq!(stored.subject_type, event.kind().subject_type());
            assert_eq!(stored.subject_id, subject);
        }
    }

    async fn rows_written_before_the_types_still_decode(app: &TestApp) {
        let subject = Uuid::new_v4();
        let (slot_id, talent) = (Uuid::new_v4(), Uuid::new_v4());
        let lead_unassigned = json!({ "slot": slot(None), "talent_id": talent });
        let mut lead_unassigned_slot = lead_unassigned.clone();
        lead_unassigned_slot["slot"]["id"] = json!(slot_id);
        let manual_move = json!({ "from": "draft", "to": "open", "reason": null, "by": Uuid::new_v4() });
        let clock_move = json!({ "from": "open", "to": "judging", "by": "clock" });
        let old: [(&str, &str, serde_json::Value); 4] = [
            ("pod.unassigned", "pod", lead_unassigned_slot),
            ("challenge.open", "challenge", manual_move),
            ("challenge.judging", "challenge", clock_move),
            ("user.erased", "user", json!({})),
        ];
        for (kind, subject_type, payload) in old {
            insert_raw(app, subject, kind, subject_type, payload).await;
        }
        let read = events::about(&app.db, subject).await.unwrap();
        let kinds: Vec<EventKind> = read.iter().map(|e| e.event.kind()).collect();
        assert_eq!(kinds.len(), 4);
        assert!(read.iter().any(|e| matches!(&e.event, Event::PodUnassigned(u) if u.slot_id == slot_id && u.talent_id == talent)));
        assert!(read.iter().any(|e| matches!(&e.event, Event::ChallengeJudging(m) if matches!(m.by, MovedBy::Clock(Clock::Clock)))));
        assert!(read.iter().any(|e| matches!(&e.event, Event::ChallengeOpened(m) if m.reason.is_none() && matches!(m.by, MovedBy::Caller(Some(_))))));
    }

    async fn a_row_that_does_not_decode_is_an_error_and_counted(app: &TestApp) {
        let subject = Uuid::new_v4();
        let before = undecodable(app).await;
        insert_raw(app, subject, "tier.changed", "talent", json!({ "talent_id": "not an id" })).await;
        assert!(events::about(&app.db, subject).await.is_err(), "a payload that does not fit its kind is an error");
        let other = Uuid::new_v4();
        insert_raw(app, other, "submission.reviewd", "submission", json!({})).await;
        let err = events::about(&app.db, other).await.unwrap_err();
        assert!(format!("{err:?}").contains("submission.reviewd"), "{err:?}");
        assert!(undecodable(app).await >= before + 2, "both are counted");
    }
}

async fn insert_raw(
    app: &TestApp,
    subject: Uuid,
    kind: &str,
    subject_type: &str,
    payload: serde_json::Value,
) {
    kartel_domain::db::execute(
        &app.db,
        "INSERT INTO events (id, type, subject_type, subject_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            Uuid::new_v4().into(),
            kind.into(),
            subject_type.into(),
            subject.into(),
            payload.into(),
            Utc::now().into(),
        ],
    )
    .await
    .unwrap();
}

/// `kartel_events_undecodable_total` from the app's `/metrics`.
async fn undecodable(app: &TestApp) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("kartel_events_undecodable_total "))
        .map(|v| v.trim().parse::<f64>().unwrap() as u64)
        .expect("the metric is exposed")
}

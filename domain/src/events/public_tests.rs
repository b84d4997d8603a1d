//! Every kind's outward form: thin (no free text or personal data from the
//! stored payload reaches it) and shaped as its published schema says.

use chrono::Utc;
use sea_orm::Iterable;
use serde_json::{Value, json};
use uuid::Uuid;

use super::kinds::{Event, EventKind, StoredEvent};
use super::public::{data_schema, public};
use super::schema::{data_json_schema, public_components};

/// What no outward form may carry: the stored payloads' free text.
const SECRET: &str = "leak@example.com wrote SECRET";

fn id() -> Value {
    json!(Uuid::new_v4())
}

fn review() -> Value {
    json!({
        "id": id(), "submission_id": id(), "challenge_id": id(), "talent_id": id(),
        "reviewer_id": id(), "rubric_version": 1, "scores": { "lighting": 7.5 },
        "total": 75.0, "decision": "accepted", "outputs_meeting_standard": 2,
        "feedback": SECRET, "overturns_id": null, "reward_transaction_id": id(),
        "reversal_transaction_id": null, "reward_owed": 0, "created_at": Utc::now(), "seat": 1,
    })
}

fn claim() -> Value {
    json!({
        "id": id(), "submission_id": id(), "challenge_id": id(), "track": "preditor",
        "seat": 1, "kind": "regular", "reviewer_id": id(), "claimed_at": Utc::now(),
        "lease_expires_at": Utc::now(),
    })
}

fn nomination(status: &str) -> Value {
    json!({
        "id": id(), "talent_id": id(), "track": "preditor", "slot_id": null, "note": SECRET,
        "status": status, "nominated_by": id(), "decided_by": id(), "decision_reason": SECRET,
        "placed_slot_id": null, "expires_at": Utc::now(), "created_at": Utc::now(),
        "decided_at": Utc::now(),
    })
}

fn appeal(status: &str) -> Value {
    json!({
        "id": id(), "submission_id": id(), "challenge_id": id(), "criterion": "lighting",
        "appellant_id": id(), "review_id": id(), "reviewer_id": id(), "reason": SECRET,
        "status": status, "filed_at": Utc::now(), "respond_by": Utc::now(),
        "answered_by": id(), "answered_at": Utc::now(), "response": SECRET,
        "initial_score": 5.0, "final_score": 7.0, "rescore_review_id": id(),
    })
}

/// A stored payload of each kind, its free text filled with [`SECRET`]. No
/// wildcard: a new kind does not compile until it has a sample here.
fn payload(kind: EventKind) -> Value {
    use EventKind as K;
    let decided = json!({
        "review": review(), "previous_decision": "rejected", "track": "preditor",
        "certifies_track": null,
        "outcome": { "decision": "accepted", "score": 70.0, "outputs_meeting_standard": 2,
                     "reviews": 3, "tiebreak": true },
    });
    let moved = |to: &str| {
        json!({
            "from": "judging", "to": to, "reason": SECRET, "by": id(),
            "prizes": [{ "place": 1, "talent_id": id(), "submission_id": id(), "amount": 100,
                         "transaction_id": id() }],
        })
    };
    let slot = json!({
        "id": id(), "pod_id": id(), "track": "preditor", "status": "filled",
        "talent_id": id(), "filled_at": Utc::now(), "created_at": Utc::now(), "suspended": false,
    });
    match kind {
        K::SubmissionReviewed | K::SubmissionReviewOverturned | K::SubmissionRescored => decided,
        K::ChallengeOpened => moved("open"),
        K::ChallengeJudging => json!({ "from": "open", "to": "judging", "by": "clock" }),
        K::ChallengeClosed => moved("closed"),
        K::ChallengeCancelled => moved("cancelled"),
        K::ProfileUpdated => json!({ "profile_complete": true }),
        K::UserSuspended => json!({ "from": "active", "to": "suspended" }),
        K::UserReactivated => json!({ "from": "suspended", "to": "active" }),
        K::UserErased => json!({}),
        K::TierChanged => json!({
            "id": id(), "talent_id": id(), "track": "preditor", "from_tier": 3, "to_tier": 4,
            "actor_kind": "user", "actor_id": id(), "reason": SECRET,
            "evidence": { "note": SECRET }, "certificate_id": id(), "created_at": Utc::now(),
        }),
        K::TierDemoted => json!({ "track": "preditor", "from": 4, "to": 3 }),
        K::PodAssigned => json!({ "slot": slot, "from_slot_id": null }),
        K::PodUnassigned => json!({
            "slot_id": id(), "talent_id": id(), "reason": SECRET, "slot": slot,
        }),
        K::HandoffNominated => nomination("pending"),
        K::HandoffDeclined => nomination("declined"),
        K::HandoffAccepted => json!({
            "nomination": nomination("accepted"), "pod_id": id(), "slot_id": id(),
        }),
        K::ReviewNeeded => json!({
            "challenge_id": id(), "track": null, "kind": "regular", "seats": 3,
        }),
        K::ReviewClaimed | K::ReviewLeaseExpired => claim(),
        K::ReviewReleased => json!({ "claim": claim(), "released_by": id() }),
        K::ReviewRecorded => json!({ "review": review(), "awaiting": 1 }),
        K::ReviewTiebreakNeeded => json!({
            "submission_id": id(), "challenge_id": id(), "track": "preditor", "seat": 3,
            "disagreement": "scores", "gap": 20.0, "threshold": 15.0,
        }),
        K::AppealFiled => appeal("open"),
        K::AppealAnswered => appeal("upheld"),
        K::CreditsMoved => json!({
            "transaction_id": id(), "talent_id": id(), "kind": "grant", "amount": 25,
            "balance_after": 125,
        }),
        K::CertificateIssued => json!({
            "certificate_id": id(), "talent_id": id(), "track": "preditor", "replaces": id(),
        }),
        K::CertificateRevoked => json!({
            "certificate_id": id(), "talent_id": id(), "track": "preditor", "cause": "demoted",
        }),
    }
}

fn stored(kind: EventKind) -> StoredEvent {
    let tagged = json!({ "type": kind.as_str(), "payload": payload(kind) });
    let event: Event = serde_json::from_value(tagged)
        .unwrap_or_else(|e| panic!("the sample of {} decodes: {e}", kind.as_str()));
    StoredEvent {
        id: Uuid::new_v4(),
        subject_type: kind.subject_type().to_owned(),
        subject_id: Uuid::new_v4(),
        event,
        created_at: Utc::now(),
    }
}

#[test]
fn no_kind_publishes_the_stored_free_text() {
    for kind in EventKind::iter() {
        let s = stored(kind);
        let stored_text = serde_json::to_string(&s).unwrap_or_default();
        assert!(stored_text.contains("SECRET") || !has_free_text(kind));
        let out = serde_json::to_string(&public(&s)).unwrap_or_default();
        assert!(!out.contains("SECRET"), "{}: {out}", kind.as_str());
        assert!(!out.contains('@'), "{}: {out}", kind.as_str());
    }
}

/// The kinds whose stored payload carries free text (the sample fills it).
fn has_free_text(kind: EventKind) -> bool {
    !matches!(
        kind,
        EventKind::ChallengeJudging
            | EventKind::ProfileUpdated
            | EventKind::UserSuspended
            | EventKind::UserReactivated
            | EventKind::UserErased
            | EventKind::TierDemoted
            | EventKind::PodAssigned
            | EventKind::ReviewNeeded
            | EventKind::ReviewClaimed
            | EventKind::ReviewLeaseExpired
            | EventKind::ReviewReleased
            | EventKind::ReviewTiebreakNeeded
            | EventKind::CreditsMoved
            | EventKind::CertificateIssued
            | EventKind::CertificateRevoked
    )
}

#[test]
fn every_kind_is_published_with_its_type_and_the_fields_its_schema_names() {
    for kind in EventKind::iter() {
        let s = stored(kind);
        let out = serde_json::to_value(public(&s)).unwrap_or_default();
        assert_eq!(out["type"], kind.as_str());
        assert_eq!(out["timestamp"], json!(s.created_at));
        let data = out["data"].as_object().cloned().unwrap_or_default();
        let schema = data_json_schema(kind);
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut have: Vec<&String> = data.keys().collect();
        let mut named: Vec<&String> = props.keys().collect();
        have.sort();
        named.sort();
        assert_eq!(have, named, "{}", kind.as_str());
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            required.len(),
            named.len(),
            "{}: every field is required",
            kind.as_str()
        );
    }
}

#[test]
fn each_data_schema_stands_alone() {
    let all = serde_json::to_value(public_components().schemas).unwrap_or_default();
    for kind in EventKind::iter() {
        assert!(all.get(data_schema(kind)).is_some(), "{}", kind.as_str());
        let schema = data_json_schema(kind).to_string();
        assert!(!schema.contains("#/components/"), "{schema}");
        let doc: Value = serde_json::from_str(&schema).unwrap_or_default();
        for r in schema.split("\"#/$defs/").skip(1) {
            let name = r.split('"').next().unwrap_or_default();
            assert!(
                doc["$defs"].get(name).is_some(),
                "{}: {name}",
                kind.as_str()
            );
        }
    }
}

//! The published contract of the events: every kind, what its subject id
//! names, and its payload's JSON Schema. Generated from the types and
//! committed as `openapi/events.json` (`kartel events-schema`); a test
//! fails when the two drift, as for `openapi/openapi.json`.

use sea_orm::Iterable;
use utoipa::OpenApi;

use super::kinds::{
    CertificateIssued, CertificateRevoked, ChallengeMoved, ClaimReleased, CreditsMoved, Event,
    EventKind, HandoffAccepted, PodAssigned, PodUnassigned, ProfileUpdated, ReviewDecided,
    RevocationCause, StatusChanged, TierDemoted, UserErased,
};
use crate::challenges::{Appeal, Claim, Outcome, ReviewRecorded, ReviewsNeeded, TiebreakNeeded};
use crate::pods::Nomination;
use crate::tiers::TierChange;

#[derive(OpenApi)]
#[openapi(components(schemas(
    Event,
    ReviewDecided,
    ChallengeMoved,
    ProfileUpdated,
    StatusChanged,
    UserErased,
    TierChange,
    TierDemoted,
    PodAssigned,
    PodUnassigned,
    Nomination,
    HandoffAccepted,
    ReviewsNeeded,
    Claim,
    ClaimReleased,
    ReviewRecorded,
    TiebreakNeeded,
    Outcome,
    Appeal,
    CreditsMoved,
    CertificateIssued,
    CertificateRevoked,
    RevocationCause,
)))]
struct Schemas;

/// The document: `kinds` lists every kind in order with its subject type
/// and a reference to its payload's schema in `components.schemas`.
pub fn document() -> serde_json::Value {
    let kinds: Vec<serde_json::Value> = EventKind::iter()
        .map(|k| {
            serde_json::json!({
                "type": k.as_str(),
                "subject_type": k.subject_type(),
                "payload": { "$ref": format!("#/components/schemas/{}", k.payload_schema()) },
            })
        })
        .collect();
    let components = Schemas::openapi().components;
    serde_json::json!({
        "title": "Kartel domain events",
        "description": "Each event has an id, a type (below), a subject (its type and id) and a payload; payloads grow only by optional fields.",
        "kinds": kinds,
        "components": components,
    })
}

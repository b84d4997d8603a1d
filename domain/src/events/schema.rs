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
use super::public::{
    AppealData, CertificateIssuedData, CertificateRevokedData, ChallengeMovedData, ClaimData,
    CreditsMovedData, HandoffAcceptedData, NominationData, OutcomeData, PodAssignedData,
    PodUnassignedData, PrizeData, ProfileData, PublicEvent, ReviewRecordedData, ReviewsNeededData,
    SubmissionDecidedData, TiebreakNeededData, TierChangedData, TierDemotedData, UserData,
    UserStatusData, data_schema,
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

/// The outward (thin) data of each kind: what webhooks, the pull API and
/// the stream publish.
#[derive(OpenApi)]
#[openapi(components(schemas(
    PublicEvent,
    SubmissionDecidedData,
    OutcomeData,
    ChallengeMovedData,
    PrizeData,
    ProfileData,
    UserStatusData,
    UserData,
    TierChangedData,
    TierDemotedData,
    PodAssignedData,
    PodUnassignedData,
    NominationData,
    HandoffAcceptedData,
    ReviewsNeededData,
    ClaimData,
    ReviewRecordedData,
    TiebreakNeededData,
    AppealData,
    CreditsMovedData,
    CertificateIssuedData,
    CertificateRevokedData,
)))]
struct PublicSchemas;

/// The outward data schemas (and what they reference), for a document's
/// `components.schemas`.
pub fn public_components() -> utoipa::openapi::Components {
    PublicSchemas::openapi().components.unwrap_or_default()
}

/// The JSON Schema (draft 2020-12) of `kind`'s outward data, standing
/// alone: what it references is under `$defs`.
pub fn data_json_schema(kind: EventKind) -> serde_json::Value {
    let all = serde_json::to_value(public_components().schemas).unwrap_or_default();
    let retarget = |v: &serde_json::Value| -> serde_json::Value {
        let text = v.to_string().replace("#/components/schemas/", "#/$defs/");
        serde_json::from_str(&text).unwrap_or_default()
    };
    let name = data_schema(kind);
    let mut defs = serde_json::Map::new();
    let mut todo = vec![name.to_owned()];
    while let Some(n) = todo.pop() {
        let Some(schema) = all.get(&n) else { continue };
        let mut refs = Vec::new();
        collect_refs(schema, &mut refs);
        for r in refs {
            if r != name && !defs.contains_key(&r) && !todo.contains(&r) {
                todo.push(r);
            }
        }
        if n != name {
            defs.insert(n, retarget(schema));
        }
    }
    let mut root = retarget(all.get(name).unwrap_or(&serde_json::Value::Null));
    if let serde_json::Value::Object(o) = &mut root {
        o.insert(
            "$schema".to_owned(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        if !defs.is_empty() {
            o.insert("$defs".to_owned(), serde_json::Value::Object(defs));
        }
    }
    root
}

fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                if let ("$ref", serde_json::Value::String(r)) = (k.as_str(), x) {
                    if let Some(n) = r.strip_prefix("#/components/schemas/") {
                        out.push(n.to_owned());
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        serde_json::Value::Null
        | serde_json::Value::Bool(_)
        | serde_json::Value::Number(_)
        | serde_json::Value::String(_) => {}
    }
}

/// The document: `kinds` lists every kind in order with its subject type
/// and a reference to its payload's schema in `components.schemas`.
pub fn document() -> serde_json::Value {
    let kinds: Vec<serde_json::Value> = EventKind::iter()
        .map(|k| {
            serde_json::json!({
                "type": k.as_str(),
                "subject_type": k.subject_type(),
                "payload": { "$ref": format!("#/components/schemas/{}", k.payload_schema()) },
                "data": { "$ref": format!("#/components/schemas/{}", data_schema(k)) },
            })
        })
        .collect();
    let mut components = Schemas::openapi().components.unwrap_or_default();
    components.schemas.extend(public_components().schemas);
    serde_json::json!({
        "title": "Kartel domain events",
        "description": "Each event has an id, a type (below), a subject (its type and id) and a payload; payloads grow only by optional fields. Outside (webhooks, the pull API, the stream) an event is published as {type, timestamp, data} with the kind's thin `data` (ids, statuses, amounts, tiers; no personal data or free text).",
        "kinds": kinds,
        "components": components,
    })
}

//! Nobody reaches another talent's resources, on every route.
//!
//! The walk is generated from the committed `openapi/openapi.json` (itself
//! generated from the route table, and drift-tested in `openapi.rs`): every
//! operation that names a talent or a resource — a path parameter, or a
//! `talent_id` in its query or body — is called by talent B, a plain talent
//! with a fresh token, with the ids of what belongs to talent A (A's id,
//! submission, hold, transaction, nomination, certificate and its status
//! list; a challenge A entered, a pod with a slot in A's track, an API
//! key, a re-evaluation), a body made from the operation's schema and an
//! `Idempotency-Key` where one is required; each must answer 403 or 404.
//! The operations on public resources are named in [`PUBLIC`] with why,
//! and must not refuse B. So a new route is walked without anyone listing
//! it, and fails here until it refuses a stranger or is classified as
//! public.
//!
//! Every walked read that hid A's resource from B (404) must show it to A
//! (2xx): the walk cannot pass by everything being 404.
//!
//! On both backends: about sixty requests after three accounts are made.
//! The document holds no session route (sessions are `/me`'s, by token).

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, appeal_spec, challenge_spec, new_key, review_spec};

/// Operations on public resources, by `operationId`, and why any signed-in
/// person may call them: B is not refused (neither 403 nor 404).
const PUBLIC: &[(&str, &str)] = &[
    (
        "get_talent",
        "a talent's profile is public; its private fields are staff's",
    ),
    ("get_challenge", "a published challenge is public"),
    (
        "get_leaderboard",
        "a challenge's leaderboard is public once judging",
    ),
    (
        "list_challenge_submissions",
        "a challenge's submissions list shows each reader what they may see (their own until it closes)",
    ),
    (
        "create_submission",
        "any talent may enter a published challenge (a window that closed is 409 to all alike)",
    ),
    (
        "get_certificate",
        "a certificate is a credential anyone may verify",
    ),
    (
        "get_status_list",
        "a status list is how anyone verifies a certificate's revocation",
    ),
];

/// An operation of the document that names a talent or a resource.
struct Operation {
    id: String,
    method: Method,
    path: String,
    /// Its path parameters, in order.
    params: Vec<String>,
    talent_in_query: bool,
    key_required: bool,
    /// The request body's schema, when it has one.
    body: Option<Value>,
}

pub(crate) fn committed_document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json"))
        .expect("valid JSON")
}

/// The schema a `$ref` names (`#/components/schemas/X`), or `schema` itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            &doc["components"]["schemas"][r.rsplit('/').next().expect("ref")],
        ),
        None => schema,
    }
}

/// Whether a body schema (or one of its `oneOf` variants) has a `talent_id`.
fn names_a_talent(doc: &Value, schema: &Value) -> bool {
    let s = resolve(doc, schema);
    if let Some(variants) = s["oneOf"].as_array() {
        return variants.iter().any(|v| names_a_talent(doc, v));
    }
    s["properties"].get("talent_id").is_some()
}

/// Every operation that takes a path parameter or a `talent_id` (query or body).
fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let m = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            let of = |place: &str| -> Vec<&Value> {
                parameters.iter().filter(|p| p["in"] == place).collect()
            };
            let params: Vec<String> = of("path")
                .iter()
                .map(|p| p["name"].as_str().expect("name").to_owned())
                .collect();
            let talent_in_query = of("query").iter().any(|p| p["name"] == "talent_id");
            let key_required = of("header")
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["required"] == true);
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            let body = (!body.is_null()).then_some(body);
            let talent_in_body = body.as_ref().is_some_and(|b| names_a_talent(doc, b));
            if params.is_empty() && !talent_in_query && !talent_in_body {
                continue;
            }
            ops.push(Operation {
                id: op["operationId"].as_str().expect("operationId").to_owned(),
                method: m,
                path: path.clone(),
                params,
                talent_in_query,
                key_required,
                body,
            });
        }
    }
    ops
}

/// What a path parameter stands for: `{id}` is the resource the segment
/// before it names (`/holds/{id}` → `holds`); the others name themselves.
pub(crate) fn kind_of(path: &str, param: &str) -> String {
    if param != "id" {
        return param.to_owned();
    }
    let before = path.split("/{id}").next().expect("path");
    before.rsplit('/').next().expect("segment").to_owned()
}

/// A minimal valid value of `schema`: an object gets its required
/// properties, and every `…_id` property A has a resource for (`talent_id`,
/// `slot_id`) gets A's; any other value is its example when it has one, else
/// the least its type allows.
pub(crate) fn sample(doc: &Value, schema: &Value, theirs: &BTreeMap<String, String>) -> Value {
    let s = resolve(doc, schema);
    if let Some(e) = s.get("example").filter(|_| s["properties"].is_null()) {
        return e.clone();
    }
    if let Some(variants) = s["oneOf"].as_array().or(s["anyOf"].as_array()) {
        let first = variants
            .iter()
            .find(|v| v["type"] != "null")
            .expect("variant");
        return sample(doc, first, theirs);
    }
    if let Some(e) = s["enum"].as_array() {
        return e[0].clone();
    }
    let ty = match &s["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or_default(),
        t => t.clone(),
    };
    match ty.as_str().unwrap_or("object") {
        "object" => {
            let mut o = serde_json::Map::new();
            let props = s["properties"].as_object().cloned().unwrap_or_default();
            let required: Vec<&str> = s["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (name, p) in &props {
                if let Some(id) = name.strip_suffix("_id").and_then(|k| theirs.get(k)) {
                    o.insert(name.clone(), json!(id));
                } else if required.contains(&name.as_str()) {
                    o.insert(name.clone(), sample(doc, p, theirs));
                }
            }
            Value::Object(o)
        }
        "array" => {
            if s["minItems"].as_u64().unwrap_or(0) > 0 {
                json!([sample(doc, &s["items"], theirs)])
            } else {
                json!([])
            }
        }
        "integer" | "number" => json!(s["minimum"].as_i64().unwrap_or(1)),
        "boolean" => json!(false),
        _ => match s["format"].as_str() {
            Some("uuid") => json!(uuid::Uuid::now_v7()),
            Some("date-time") => json!(chrono::Utc::now()),
            Some("uri") => json!("https://example.com/x.png"),
            _ => json!(
                "x".repeat(usize::try_from(s["minLength"].as_u64().unwrap_or(1)).expect("len"))
            ),
        },
    }
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {} ({})", self.method, self.path, self.id)
    }

    /// The operation's URL with A's resources in its parameters.
    fn url(&self, theirs: &BTreeMap<String, String>) -> Result<String, String> {
        let mut url = self.path.clone();
        for p in &self.params {
            let kind = kind_of(&self.path, p);
            let id = theirs.get(&kind).ok_or_else(|| {
                format!(
                    "{}: no resource of A for `{{{p}}}` (a `{kind}`): add one to `resources_of_a`",
                    self.name()
                )
            })?;
            url = url.replace(&format!("{{{p}}}"), id);
        }
        if self.talent_in_query {
            url = format!("{url}?talent_id={}", theirs["talent"]);
        }
        Ok(url)
    }

    async fn call(
        &self,
        app: &TestApp,
        doc: &Value,
        who: &User,
        theirs: &BTreeMap<String, String>,
    ) -> Result<(StatusCode, String), String> {
        let mut req = app
            .client
            .request(self.method.clone(), app.url(&self.url(theirs)?))
            .bearer_auth(&who.token);
        if self.key_required {
            req = req.header("Idempotency-Key", new_key());
        }
        if let Some(schema) = &self.body {
            req = req.json(&sample(doc, schema, theirs));
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        Ok((status, res.text().await.expect("body")))
    }
}

/// One of each resource of A's (and the staff's resources the routes name),
/// keyed by what a path parameter names (see [`kind_of`]).
pub(crate) async fn resources_of_a(app: &TestApp, a: &User) -> BTreeMap<String, String> {
    const TRACK: &str = "preditor";
    let admin = app.new_admin().await;
    let mut theirs = BTreeMap::new();
    let mut put = |k: &str, v: String| theirs.insert(k.to_owned(), v);
    // A's id: `talent_id` in a query or body, `/talents/{id}`, `/admin/users/{id}`.
    put("talent", a.id.to_string());
    put("talents", a.id.to_string());
    put("users", a.id.to_string());
    put("track", TRACK.to_owned());
    put("tier", "4".to_owned());

    // A transaction and a hold.
    let grant = app.new_grant(&admin, a.id, 100).await;
    put("transactions", grant["id"].as_str().expect("id").to_owned());
    put("holds", app.new_hold(a, 10, None).await);

    // A submission in a challenge now judging (private until it closes).
    let challenge = app.open_challenge(&admin, &challenge_spec()).await;
    let submission = app
        .new_submission(a, &challenge, "https://cdn.example.com/a.png")
        .await;
    let res = app.transition(&admin, &challenge, "judging").await;
    assert_eq!(res.status(), StatusCode::OK, "judging");
    // The staff's claim of its review seat (before the nomination below,
    // which would be a conflict of interest).
    let res = app
        .claim_review(&admin, &json!({ "submission_id": submission }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "claim");
    let c: Value = res.json().await.expect("json");
    put("claims", c["claim"]["id"].as_str().expect("id").to_owned());
    put("challenges", challenge);
    put("submissions", submission);

    // A decided submission of A's in another judging challenge, and A's
    // appeal of its review.
    let other = app.open_challenge(&admin, &appeal_spec(48)).await;
    let decided = app
        .new_submission(a, &other, "https://cdn.example.com/a2.png")
        .await;
    let res = app.transition(&admin, &other, "judging").await;
    assert_eq!(res.status(), StatusCode::OK, "judging");
    let reviewer = app.new_manager().await;
    let res = app
        .review(&reviewer, &decided, &review_spec(4.0, 4.0, "rejected", 0))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "review");
    let res = app
        .file_appeal(
            a,
            &decided,
            &json!({ "criterion": "lighting", "reason": "Look again." }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "appeal");
    let appeal: Value = res.json().await.expect("json");
    put("appeals", appeal["id"].as_str().expect("id").to_owned());

    // Tier 4 with a certificate, and a nomination.
    app.enrol(a.id, TRACK, 4).await;
    let certificate = app.give_certificate(a.id, TRACK).await.to_string();
    // Read once, it has its entry in a status list.
    let c: Value = app
        .certificate(&certificate)
        .await
        .json()
        .await
        .expect("json");
    let list = c["credentialStatus"]["statusListCredential"]
        .as_str()
        .expect("a status list");
    put(
        "status-lists",
        list.rsplit('/').next().expect("id").to_owned(),
    );
    put("certificates", certificate);
    let res = app.nominate(&admin, a, TRACK, None).await;
    assert_eq!(res.status(), StatusCode::CREATED, "nominate");
    let n: Value = res.json().await.expect("json");
    put("handoffs", n["id"].as_str().expect("id").to_owned());

    // A pod with an open slot in A's track and an engagement.
    let (pod, slots) = app.pod_with_slots(&admin, 1, &[TRACK]).await;
    let res = app.add_engagement(&admin, &pod, "Acme").await;
    assert_eq!(res.status(), StatusCode::CREATED, "engagement");
    let e: Value = res.json().await.expect("json");
    put("engagement_id", e["id"].as_str().expect("id").to_owned());
    // `{slot_id}` in a path, `slot_id` in a body.
    put("slot_id", slots[0].clone());
    put("slot", slots[0].clone());
    put("pods", pod);

    // An API key and a re-evaluation (of a track nobody is in).
    let res = app.create_api_key(&admin, "svc", &["credits:hold"]).await;
    assert_eq!(res.status(), StatusCode::CREATED, "api key");
    let k: Value = res.json().await.expect("json");
    put("api-keys", k["id"].as_str().expect("id").to_owned());
    let res = app
        .set_requirements(&admin, "data_engineer", &json!([]))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "requirements");
    let r: Value = res.json().await.expect("json");
    put(
        "reevaluations",
        r["reevaluation"]["id"].as_str().expect("id").to_owned(),
    );

    // A webhook endpoint and a message to it (the admins').
    let (endpoint, _) = app
        .new_endpoint(&admin, "https://hooks.example.com/kartel", &[])
        .await;
    let res = app.test_endpoint(&admin, &endpoint).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED, "test message");
    let m: Value = res.json().await.expect("json");
    put("messages", m["message_id"].as_str().expect("id").to_owned());
    put("endpoints", endpoint);
    theirs
}

both_backends! {
    async fn no_route_gives_a_talent_what_belongs_to_another(app: &TestApp) {
        let doc = committed_document();
        let ops = operations(&doc);
        assert!(ops.len() >= 40, "only {} operations name a resource", ops.len());
        for (id, why) in PUBLIC {
            assert!(!why.is_empty());
            assert!(ops.iter().any(|o| o.id == *id), "{id} is classified public but no such operation names a resource");
        }
        let a = app.new_talent().await;
        let theirs = resources_of_a(app, &a).await;
        let b = app.new_talent().await;

        let mut wrong = Vec::new();
        let mut hidden_reads = Vec::new();
        for op in &ops {
            let public = PUBLIC.iter().any(|(id, _)| *id == op.id);
            let (status, body) = match op.call(app, &doc, &b, &theirs).await {
                Ok(answer) => answer,
                Err(e) => {
                    wrong.push(e);
                    continue;
                }
            };
            let refused = matches!(status.as_u16(), 403 | 404);
            if public && refused {
                wrong.push(format!("{} is classified public but refused B: {status} {body}", op.name()));
            } else if !public && !refused {
                wrong.push(format!("{} answered another talent {status}, not 403 or 404: {body}", op.name()));
            } else if status == StatusCode::NOT_FOUND && op.method == Method::GET {
                hidden_reads.push(op);
            }
        }
        assert!(wrong.is_empty(), "{} operation(s) wrong:\n{}", wrong.len(), wrong.join("\n"));

        // What was hidden from B is there for A.
        assert!(hidden_reads.len() >= 5, "only {} reads hid A's resource", hidden_reads.len());
        for op in hidden_reads {
            let (status, body) = op.call(app, &doc, &a, &theirs).await.expect("url");
            assert!(status.is_success(), "{} hid A's resource from A too: {status} {body}", op.name());
        }
    }
}

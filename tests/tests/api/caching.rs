//! Which answers a cache may keep is decided by the answer, not by the
//! request (`api/src/middleware.rs`, `no_store`): every answer under `/api/`
//! says `Cache-Control: no-store` — tokens, one-time secrets, personal data,
//! errors — except the successful answers of a few public operations that
//! name nobody, listed in [`STORABLE`].
//!
//! The walk is generated from the committed `openapi/openapi.json`: every
//! operation is called without credentials and as an admin (with the ids of
//! a talent's resources, a body made from its schema and an
//! `Idempotency-Key` where one is required, as in `ownership.rs`), and each
//! answer under `/api/` must be `no-store` unless its operation is in
//! [`STORABLE`], whose answers must not be; the document's few operations
//! outside `/api/` (probes, the public keys) carry no `Cache-Control`. So a new operation is checked without anyone
//! listing it, and this list fails the walk when it and the middleware's
//! drift apart.

use std::collections::BTreeMap;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, new_key};
use crate::ownership::{committed_document, kind_of, resources_of_a, sample};

/// The operations, by `operationId`, whose answers a cache may keep, and why
/// (the same list as the middleware's `STORABLE`, by route there).
const STORABLE: &[(&str, &str)] = &[
    (
        "list_tracks",
        "the tracks, their requirements and playbooks: the same for everyone, naming nobody",
    ),
    (
        "list_allowance_policies",
        "the monthly allowance per tier: the same for everyone, naming nobody",
    ),
    (
        "get_status_list",
        "a certificate status list: signed bits naming nobody, kept 5 minutes (`max-age=300`)",
    ),
];

/// The answer's `Cache-Control`, if any.
fn cache_control(res: &Response) -> Option<String> {
    res.headers()
        .get("cache-control")
        .map(|v| v.to_str().expect("ascii").to_owned())
}

/// Asserts that `res` says `no-store`, and returns its JSON body.
async fn assert_no_store(res: Response, what: &str, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "{what}");
    assert_eq!(cache_control(&res).as_deref(), Some("no-store"), "{what}");
    res.json().await.expect("json")
}

/// One operation of the document, ready to call.
struct Operation {
    id: String,
    method: Method,
    path: String,
    params: Vec<String>,
    key_required: bool,
    body: Option<Value>,
}

/// Every operation of the document. Those that end the admin's session or
/// erase someone come last, so the others are called while it lasts.
fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Ok(m) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            ops.push(Operation {
                id: op["operationId"].as_str().expect("operationId").to_owned(),
                method: m,
                path: path.clone(),
                params: parameters
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().expect("name").to_owned())
                    .collect(),
                key_required: parameters.iter().any(|p| {
                    p["in"] == "header" && p["name"] == "Idempotency-Key" && p["required"] == true
                }),
                body: (!body.is_null()).then_some(body),
            });
        }
    }
    ops.sort_by_key(|o| (o.id == "logout", o.method == Method::DELETE));
    ops
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {} ({})", self.method, self.path, self.id)
    }

    async fn call(
        &self,
        app: &TestApp,
        doc: &Value,
        who: Option<&User>,
        theirs: &BTreeMap<String, String>,
    ) -> Response {
        let mut url = self.path.clone();
        for p in &self.params {
            let kind = kind_of(&self.path, p);
            let id = theirs.get(&kind).unwrap_or_else(|| {
                panic!(
                    "{}: no resource for `{{{p}}}` (add one to `ownership::resources_of_a`)",
                    self.name()
                )
            });
            url = url.replace(&format!("{{{p}}}"), id);
        }
        let mut req = app.client.request(self.method.clone(), app.url(&url));
        if let Some(who) = who {
            req = req.bearer_auth(&who.token);
        }
        if self.key_required {
            req = req.header("Idempotency-Key", new_key());
        }
        if let Some(schema) = &self.body {
            req = req.json(&sample(doc, schema, theirs));
        }
        req.send().await.expect("request")
    }
}

both_backends! {
    async fn tokens_secrets_and_accounts_are_not_stored_whatever_the_request(app: &TestApp) {
        // Register, verify, sign in, refresh: no Authorization on any of them.
        let tag = Uuid::new_v4().simple().to_string();
        let email = format!("c{}@example.com", &tag[..12]);
        let res = app.register(&email, &format!("c{}", &tag[..12])).await;
        let account = assert_no_store(res, "register", StatusCode::CREATED).await;
        assert_eq!(account["email"], email.as_str());
        let token = app.mailed_token(&email, "ve_").await;
        assert_no_store(app.verify_email(&token).await, "verify", StatusCode::OK).await;
        let res = app.login(&email, crate::helpers::PASSWORD).await;
        let tokens = assert_no_store(res, "login", StatusCode::OK).await;
        assert!(tokens["access_token"].is_string(), "{tokens}");
        let refresh = tokens["refresh_token"].as_str().expect("refresh_token");
        let tokens = assert_no_store(app.refresh(refresh).await, "refresh", StatusCode::OK).await;
        assert!(tokens["refresh_token"].is_string(), "{tokens}");
        // Refusals too.
        let res = app.login(&email, "wrong password").await;
        assert_no_store(res, "failed login", StatusCode::UNAUTHORIZED).await;

        // A new API key's secret is shown once. Creating one takes an
        // admin's token; what decides is the answer (the middleware's rule
        // does not read the request's headers at all).
        let admin = app.new_admin().await;
        let res = app.create_api_key(&admin, "svc", &["credits:hold"]).await;
        let key = assert_no_store(res, "API key", StatusCode::CREATED).await;
        assert!(key["secret"].is_string(), "{key}");
    }

    async fn every_api_answer_is_no_store_but_the_named_public_ones(app: &TestApp) {
        let doc = committed_document();
        let ops = operations(&doc);
        assert!(ops.len() >= 80, "only {} operations", ops.len());
        for (id, why) in STORABLE {
            assert!(!why.is_empty());
            let op = ops.iter().find(|o| o.id == *id);
            assert!(op.is_some_and(|o| o.method == Method::GET), "{id} is listed storable but is no GET of the document");
        }
        let a = app.new_talent().await;
        let theirs = resources_of_a(app, &a).await;
        let admin = app.new_admin().await;

        let mut wrong = Vec::new();
        let mut answered = 0;
        for op in &ops {
            // Outside /api/ (probes, the public keys) answers are left alone.
            let outside = !op.path.starts_with("/api/");
            let storable = STORABLE.iter().any(|(id, _)| *id == op.id);
            for (who, name) in [(None, "anonymous"), (Some(&admin), "admin")] {
                let res = op.call(app, &doc, who, &theirs).await;
                let status = res.status();
                answered += usize::from(who.is_some() && status.is_success());
                match (storable, cache_control(&res)) {
                    (_, None) if outside => {}
                    (false, Some(cc)) if cc == "no-store" && !outside => {}
                    (true, None) if status.is_success() => {}
                    // A storable answer may say how long to keep it.
                    (true, Some(cc)) if status.is_success() && cc.starts_with("max-age=") => {}
                    (_, cc) => wrong.push(format!("{} as {name}: {status}, Cache-Control {cc:?}", op.name())),
                }
            }
        }
        assert!(wrong.is_empty(), "{} answer(s) wrong:\n{}", wrong.len(), wrong.join("\n"));
        // The walk saw real answers, not only refusals.
        assert!(answered >= 50, "only {answered} operations answered the admin with success");
    }
}

//! The edge of the API as outside clients meet it: no NUL character reaches
//! the database (every string field and query parameter of every operation,
//! found from the OpenAPI document), HEAD like GET, CORS for the configured
//! origins only, and the security headers.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, new_key};

/// The schema `s` with its `$ref` followed.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => s,
    }
}

/// Whether a value of schema `s` may be a string (directly, or as one of a
/// `oneOf`/`anyOf`).
fn is_string(doc: &Value, s: &Value) -> bool {
    let s = resolve(doc, s);
    let typed = match &s["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    };
    typed
        || ["oneOf", "anyOf", "allOf"].iter().any(|k| {
            s[*k]
                .as_array()
                .is_some_and(|alts| alts.iter().any(|a| is_string(doc, a)))
        })
}

/// Every `(field path, body)` that puts a NUL into one string field of the
/// request body schema `s`: top-level strings and arrays of strings.
fn nul_bodies(doc: &Value, s: &Value) -> Vec<(String, Value)> {
    let s = resolve(doc, s);
    let mut out = Vec::new();
    let Some(props) = s["properties"].as_object() else {
        return out;
    };
    for (name, prop) in props {
        if is_string(doc, prop) {
            out.push((name.clone(), json!({ name.clone(): "a\u{0}b" })));
        } else {
            let p = resolve(doc, prop);
            let items = p["items"].clone();
            if !items.is_null() && is_string(doc, &items) {
                out.push((format!("{name}[0]"), json!({ name.clone(): ["a\u{0}b"] })));
            }
        }
    }
    out
}

/// A concrete path for a templated one.
fn fill(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{tier}" => "0".to_owned(),
            "{track}" => "preditor".to_owned(),
            s if s.starts_with('{') => Uuid::new_v4().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", new_key());
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

async fn expect_nul_refused(res: reqwest::Response, field: &str, what: &str) {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        fields.contains(&field),
        "{what}: the problem names {fields:?}, not {field}: {body}"
    );
}

both_backends! {
    async fn a_nul_in_any_string_field_or_query_parameter_is_a_422_naming_it(app: &TestApp) {
        let doc = serde_json::to_value(kartel_api::startup::openapi_doc()).unwrap();
        // An admin may use every operation; the body is checked after that.
        let admin = app.new_admin().await;
        let (mut bodies, mut queries) = (0, 0);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let url = fill(path);
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                if !schema.is_null() {
                    for (field, body) in nul_bodies(&doc, schema) {
                        let what = format!("{method} {path} body field {field}");
                        expect_nul_refused(send(app, method, &url, &admin.token, Some(&body)).await, &field, &what).await;
                        bodies += 1;
                    }
                }
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["in"] != "query" {
                        continue;
                    }
                    let name = p["name"].as_str().unwrap();
                    let what = format!("{method} {path} query parameter {name}");
                    let res = send(app, method, &format!("{url}?{name}=a%00b"), &admin.token, None).await;
                    expect_nul_refused(res, name, &what).await;
                    queries += 1;
                }
            }
        }
        // The document really was walked: login's email, the talent search's q…
        assert!(bodies >= 15, "only {bodies} body fields checked");
        assert!(queries >= 10, "only {queries} query parameters checked");
        // And the ones outside clients found answer 422, not 500.
        let res = app.post("/api/v1/auth/login", None, &json!({"email": "a\u{0}b@example.com", "password": "x"})).await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app.get("/api/v1/admin/audit-log?target_id=%00", Some(&admin.token)).await;
        assert_problem(res, 422, "validation_failed").await;
    }

    async fn an_email_of_254_characters_with_accents_registers(app: &TestApp) {
        // 254 characters, more than 254 bytes.
        let local = "é".repeat(60);
        let domain = format!("{}.example.com", "ü".repeat(254 - 60 - 1 - 12));
        let email = format!("{local}@{domain}");
        assert_eq!(email.chars().count(), 254);
        assert!(email.len() > 254);
        let res = app.register(&email, "accents").await;
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
        let longer = format!("{local}@ü{domain}");
        assert_problem(app.register(&longer, "accents2").await, 422, "validation_failed").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_answered_like_get_without_a_body() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in ["/healthz", "/readyz", "/api/v1/credits/allowance-policies"] {
        let res = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "HEAD {path}");
        assert!(res.headers().contains_key("x-request-id"));
        assert!(res.bytes().await.unwrap().is_empty());
    }
    // HEAD where only POST lives: 405 naming what is allowed.
    let res = app
        .client
        .head(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    // GET routes say HEAD is allowed too.
    let res = app.client.delete(app.url("/healthz")).send().await.unwrap();
    let allow = res.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_on_listed_origins_may_call_and_others_get_no_cors_headers() {
    let portal = "https://portal.example.com";
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.cors_origins = format!("{portal}, http://localhost:5173")
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/credits/spends"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };
    let res = preflight("https://portal.example.com").await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], portal);
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_uppercase();
    assert!(
        methods.contains("POST") && methods.contains("PATCH"),
        "{methods}"
    );
    let headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        headers.contains("idempotency-key") && headers.contains("authorization"),
        "{headers}"
    );

    let res = preflight("https://evil.example.com").await.unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    // A simple request from the portal can read the request id and Retry-After.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", portal)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], portal);
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("retry-after"),
        "{exposed}"
    );
    // Another origin is served, without CORS headers.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_says_nosniff_and_only_public_api_answers_may_be_cached() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let talent = app.new_talent().await;
    // Outside /api/ answers carry nothing of anyone's and are left alone.
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs/",
        "/.well-known/jwks.json",
    ] {
        for token in [Some(talent.token.as_str()), None] {
            let res = app.get(path, token).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(!res.headers().contains_key("cache-control"), "{path}");
        }
    }
    let res = app.get("/api/v1/me", Some(&talent.token)).await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["cache-control"], "no-store");
    // Under /api/ the answer decides, with credentials or without.
    for token in [Some(talent.token.as_str()), None] {
        let res = app.get("/api/v1/nowhere", token).await;
        assert_eq!(res.headers()["cache-control"], "no-store");
        let res = app.get("/api/v1/tracks", token).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(!res.headers().contains_key("cache-control"));
    }
    let res = app.get("/api/v1/challenges", None).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    // HEAD like GET.
    let head = |path: &str| {
        app.client
            .head(app.url(path))
            .bearer_auth(&talent.token)
            .send()
    };
    assert_eq!(
        head("/api/v1/me").await.unwrap().headers()["cache-control"],
        "no-store"
    );
    assert!(
        !head("/api/v1/tracks")
            .await
            .unwrap()
            .headers()
            .contains_key("cache-control")
    );
    app.stop().await;
}

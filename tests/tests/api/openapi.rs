//! The committed `openapi/openapi.json` must be what the code generates.
//! Regenerate with `cargo run -- openapi > openapi/openapi.json`.

#[test]
fn committed_openapi_document_matches_the_code() {
    let generated = serde_json::to_value(kartel_api::startup::openapi_doc()).expect("serialize");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json exists"))
            .expect("valid JSON");
    assert!(
        generated == committed,
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_operation_documents_the_problem_envelope_and_an_operation_id() {
    let doc = serde_json::to_value(kartel_api::startup::openapi_doc()).expect("serialize");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 25, "only {} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            let default = &op["responses"]["default"]["content"]["application/problem+json"];
            assert!(
                default.is_object(),
                "{method} {path} lacks the problem response"
            );
        }
    }
    for p in [
        "/api/v1/auth/register",
        "/api/v1/credits/holds/{id}/capture",
        "/api/v1/admin/ledger/check",
        "/readyz",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
}

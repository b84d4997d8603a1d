//! Events out, pulled and described: the feed in order from a cursor (an
//! admin or a key with `events:read`), the catalogue with each kind's data
//! schema, the OpenAPI document's `webhooks`, and bodies that hold nothing
//! of a person, so an erasure leaves nothing behind at receivers.

use std::collections::BTreeSet;

use kartel_tests::receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Loop, TestApp, assert_problem, eventually, webhook_settings};

both_backends! {
    async fn the_feed_goes_forward_from_a_cursor_with_thin_data(app: &TestApp) {
        let admin = app.new_admin().await;
        let talent = app.new_talent().await;
        for n in 0..3 {
            app.touch_profile(&talent, n).await;
        }
        app.set_status(&admin, talent.id, "suspended").await;
        let stored = app.event_ids().await;
        app.until_rounds(Loop::Events, stored.len() as u64).await;

        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let q = format!("limit=2&after={cursor}");
            let page: Value = app.list_events(&admin, &q).await.json().await.unwrap();
            for e in page["items"].as_array().unwrap() {
                seen.push(e.clone());
            }
            cursor = page["next_cursor"].as_str().unwrap().to_owned();
            if page["has_more"] == json!(false) {
                break;
            }
        }
        let ids: Vec<String> = seen.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), stored.len());
        assert_eq!(
            ids.iter().collect::<BTreeSet<_>>(),
            stored.iter().collect::<BTreeSet<_>>()
        );
        let positions: Vec<i64> = seen.iter().map(|e| e["position"].as_i64().unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        for e in &seen {
            assert!(e["type"].is_string() && e["timestamp"].is_string() && e["data"].is_object());
        }
        // Nothing new: an empty page, the same place to wait at.
        let page: Value = app
            .list_events(&admin, &format!("after={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"], json!([]));
        assert_eq!(page["next_cursor"].as_str().unwrap(), cursor);

        // A filter by kind.
        let page: Value = app
            .list_events(&admin, "types=user.suspended,user.reactivated")
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["data"], json!({ "user_id": talent.id, "from": "active", "to": "suspended" }));
        let res = app.list_events(&admin, "types=user.nope").await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], "types");
    }

    async fn the_feed_is_for_admins_and_keys_with_events_read(app: &TestApp) {
        let reader = app.new_api_key(&["events:read"]).await;
        let res = app.list_events_with_key(&reader, "").await;
        assert_eq!(res.status(), StatusCode::OK);
        let holder = app.new_api_key(&["credits:hold"]).await;
        let res = app.list_events_with_key(&holder, "").await;
        assert_problem(res, 403, "forbidden").await;
        for who in [app.new_talent().await, app.new_manager().await] {
            let res = app.list_events(&who, "").await;
            assert_problem(res, 403, "forbidden").await;
        }
        let res = app.get("/api/v1/events", None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    async fn the_catalogue_and_the_openapi_document_describe_every_kind(app: &TestApp) {
        let res = app.event_types().await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() >= 26, "{}", items.len());
        let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
        for k in items {
            let kind = k["type"].as_str().unwrap();
            let schema = &k["data_schema"];
            assert_eq!(schema["type"], "object", "{kind}");
            assert!(!schema["properties"].as_object().unwrap().is_empty(), "{kind}");
            assert!(!schema.to_string().contains("#/components/"), "{kind} stands alone");
            let hook = &doc["webhooks"][kind]["post"];
            let data = &hook["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]["$ref"];
            let name = k["data_schema_name"].as_str().unwrap();
            assert_eq!(data, &json!(format!("#/components/schemas/{name}")), "{kind}");
            assert!(doc["components"]["schemas"][name].is_object(), "{name}");
        }
        assert!(doc["webhooks"]["webhook.test"].is_object());
        let suspended = items.iter().find(|k| k["type"] == "user.suspended").unwrap();
        let props: BTreeSet<&str> = suspended["data_schema"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(props, BTreeSet::from(["from", "to", "user_id"]));
    }

    #[settings(webhook_settings)]
    async fn no_message_holds_a_persons_address_name_or_words(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        app.new_endpoint(&admin, &rx.url("/p"), &[]).await;
        let talent = app.new_talent().await;
        let name = "Zelda Quetzalcoatl";
        let res = app
            .update_me(&talent, &json!({ "display_name": name, "bio": "I paint with light" }))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        let handle = me["handle"].as_str().unwrap().to_owned();
        app.set_status(&admin, talent.id, "suspended").await;
        eventually("both events arrive", || async { rx.count() >= 2 }).await;
        let res = app.erase_user(&admin, talent.id).await;
        assert!(res.status().is_success(), "{}", res.status());
        eventually("the erasure arrives", || async {
            rx.deliveries().iter().any(|d| d.json()["type"] == "user.erased")
        })
        .await;
        let erased = rx.deliveries().into_iter().find(|d| d.json()["type"] == "user.erased").unwrap();
        assert_eq!(erased.json()["data"], json!({ "user_id": talent.id }));
        for needle in [talent.email.as_str(), name, "paint with light", handle.as_str()] {
            for d in rx.deliveries() {
                assert!(!d.body.contains(needle), "{needle} in {}", d.body);
            }
            let kept = app.tables_mentioning(needle).await;
            assert!(
                !kept.iter().any(|t| t.starts_with("webhook_")),
                "{needle} is kept in {kept:?}"
            );
        }
    }
}

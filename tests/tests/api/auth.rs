//! Accounts and auth through the HTTP API: the happy paths and the hostile ones.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Answer, Backend, PASSWORD, TestApp, assert_problem};

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

both_backends! {
    async fn register_login_and_read_me(app: &TestApp) {
        let res = app.register("Ada@Example.com", "Ada_L").await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let created: Value = res.json().await.unwrap();
        assert_eq!(created["email"], "ada@example.com");
        assert_eq!(created["handle"], "ada_l");
        assert_eq!(created["roles"], json!(["talent"]));
        assert_eq!(created["status"], "active");
        assert!(created.get("password_hash").is_none());

        let res = app.login("ada@example.com", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
        let t: Value = res.json().await.unwrap();
        assert_eq!(t["token_type"], "Bearer");
        assert!(t["expires_in"].as_i64().unwrap() <= 900);
        let token = t["access_token"].as_str().unwrap();
        let me: Value = app.me(Some(token)).await.json().await.unwrap();
        assert_eq!(me["id"], created["id"]);
        for k in ["id", "email", "handle", "display_name", "roles", "status"] {
            assert!(me.get(k).is_some(), "/me lacks {k}");
        }
    }

    async fn registration_reports_every_invalid_field(app: &TestApp) {
        let res = app
            .post("/api/v1/auth/register", None, &json!({"email": "nope", "password": "short", "handle": "1x", "display_name": "  "}))
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        for f in ["email", "password", "handle", "display_name"] {
            assert!(fields.contains(&f), "no error for {f}: {body}");
        }
    }

    async fn missing_and_extra_fields_are_refused(app: &TestApp) {
        let res = app.post("/api/v1/auth/register", None, &json!({"email": "a@b.co", "password": PASSWORD})).await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "handle");
        // Mass assignment: a registration cannot choose its roles.
        let res = app
            .post(
                "/api/v1/auth/register",
                None,
                &json!({"email": "m@b.co", "password": PASSWORD, "handle": "mass", "display_name": "M", "roles": ["admin"]}),
            )
            .await;
        assert_problem(res, 422, "validation_failed").await;
    }

    async fn duplicate_email_and_handle_are_conflicts(app: &TestApp) {
        assert_eq!(app.register("dup@example.com", "dup_one").await.status(), StatusCode::CREATED);
        assert_problem(app.register("DUP@example.com", "dup_two").await, 409, "email_taken").await;
        assert_problem(app.register("other@example.com", "DUP_ONE").await, 409, "handle_taken").await;
    }

    async fn wrong_password_and_unknown_email_look_the_same(app: &TestApp) {
        let u = app.new_talent().await;
        let a = assert_problem(app.login(&u.email, "wrong password!!").await, 401, "invalid_credentials").await;
        let b = assert_problem(app.login("nobody@example.com", "wrong password!!").await, 401, "invalid_credentials").await;
        assert_eq!(a, b);
    }

    async fn malformed_json_wrong_type_and_content_type_are_problems(app: &TestApp) {
        let res = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body("{\"email\": ")
            .send()
            .await
            .unwrap();
        assert_problem(res, 400, "malformed_json").await;
        let res = app.client.post(app.url("/api/v1/auth/login")).body("email=a").send().await.unwrap();
        assert_problem(res, 415, "unsupported_media_type").await;
        let res = app.post("/api/v1/auth/login", None, &json!({"email": 5, "password": "x"})).await;
        assert_problem(res, 422, "validation_failed").await;
        let big = "x".repeat(200 * 1024);
        let res = app.post("/api/v1/auth/login", None, &json!({"email": big, "password": "x"})).await;
        assert_problem(res, 413, "payload_too_large").await;
    }

    async fn unknown_paths_and_wrong_methods_are_problems(app: &TestApp) {
        assert_problem(app.get("/api/v1/nothing-here", None).await, 404, "not_found").await;
        let res = app.put("/api/v1/me", None, &json!({})).await;
        assert_eq!(res.headers().get("allow").unwrap().to_str().unwrap(), "GET, HEAD, PATCH, DELETE");
        assert_problem(res, 405, "method_not_allowed").await;
        assert_problem(app.get("/api/v1/talents/not-a-uuid", None).await, 404, "not_found").await;
    }

    async fn refresh_rotates_and_reuse_revokes_the_login(app: &TestApp) {
        let u = app.new_talent().await;
        let res = app.refresh(&u.refresh).await;
        assert_eq!(res.status(), StatusCode::OK);
        let t: Value = res.json().await.unwrap();
        let second = t["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second, u.refresh);
        let access = t["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.me(Some(&access)).await.status(), StatusCode::OK);

        // The first token again: a thief or a replay. The whole login ends.
        let res = app.refresh(&u.refresh).await;
        assert_problem(res, 401, "refresh_token_reused").await;
        let res = app.refresh(&second).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_problem(app.me(Some(&access)).await, 401, "session_revoked").await;
        assert_problem(app.me(Some(&u.token)).await, 401, "session_revoked").await;
        assert_problem(
            app.refresh("rt_made_up").await,
            401,
            "invalid_refresh_token",
        )
        .await;
    }

    async fn logout_ends_the_session(app: &TestApp) {
        let u = app.new_talent().await;
        assert_eq!(app.logout(&u).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.me(Some(&u.token)).await, 401, "session_revoked").await;
        let res = app.refresh(&u.refresh).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    async fn password_change_ends_other_sessions(app: &TestApp) {
        let u = app.new_talent().await;
        let other: Value = app.login(&u.email, PASSWORD).await.json().await.unwrap();
        let other = other["access_token"].as_str().unwrap().to_owned();
        let res = app.change_password(&u, "not it at all", "a brand new secret").await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app.change_password(&u, PASSWORD, "a brand new secret").await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.me(Some(&u.token)).await.status(), StatusCode::OK);
        assert_problem(app.me(Some(&other)).await, 401, "session_revoked").await;
        assert_problem(app.login(&u.email, PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(app.login(&u.email, "a brand new secret").await.status(), StatusCode::OK);
    }

    async fn password_change_ends_the_refresh_tokens_of_other_sessions(app: &TestApp) {
        let u = app.new_talent().await;
        let other: Value = app.login(&u.email, PASSWORD).await.json().await.unwrap();
        let (other_access, other_refresh) = (
            other["access_token"].as_str().unwrap().to_owned(),
            other["refresh_token"].as_str().unwrap().to_owned(),
        );
        let res = app.change_password(&u, PASSWORD, "a brand new secret").await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_problem(app.refresh(&other_refresh).await, 401, "session_revoked").await;
        assert_problem(app.refresh(&other_refresh).await, 401, "session_revoked").await;
        assert_problem(app.me(Some(&other_access)).await, 401, "session_revoked").await;
        // The session that changed the password goes on.
        let res = app.refresh(&u.refresh).await;
        assert_eq!(res.status(), StatusCode::OK);
        let t: Value = res.json().await.unwrap();
        assert_eq!(app.me(Some(t["access_token"].as_str().unwrap())).await.status(), StatusCode::OK);
    }

    async fn an_expired_refresh_token_is_refused_and_the_session_lives_on(app: &TestApp) {
        let u = app.new_talent().await;
        // Age the token (the TTL setting is at least 300 s): it expired a second ago.
        let aged = app
            .exec_sql(
                "UPDATE refresh_tokens SET expires_at = $1 WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $2)",
                [(chrono::Utc::now() - chrono::Duration::seconds(1)).into(), u.id.into()],
            )
            .await;
        assert_eq!(aged, 1);
        assert_problem(app.refresh(&u.refresh).await, 401, "invalid_refresh_token").await;
        // Never used, so a second try is not a reuse that would end the session.
        assert_problem(app.refresh(&u.refresh).await, 401, "invalid_refresh_token").await;
        assert_eq!(app.me(Some(&u.token)).await.status(), StatusCode::OK);
        // One that expires in a minute still works.
        let fresh: Value = app.login(&u.email, PASSWORD).await.json().await.unwrap();
        let refresh = fresh["refresh_token"].as_str().unwrap();
        let now = chrono::Utc::now();
        let soon = app
            .exec_sql(
                "UPDATE refresh_tokens SET expires_at = $1 WHERE expires_at > $2 AND session_id IN (SELECT id FROM sessions WHERE user_id = $3)",
                [(now + chrono::Duration::seconds(60)).into(), now.into(), u.id.into()],
            )
            .await;
        assert_eq!(soon, 1, "only the new login's token");
        assert_eq!(app.refresh(refresh).await.status(), StatusCode::OK);
    }

    async fn two_concurrent_uses_of_one_refresh_token_let_one_through_and_end_the_login(app: &TestApp) {
        for round in 0..5 {
            let u = app.new_talent().await;
            let (a, b) = tokio::join!(app.refresh(&u.refresh), app.refresh(&u.refresh));
            let (a, b) = (Answer::of(a).await, Answer::of(b).await);
            let (won, lost) = match (a.status, b.status) {
                (200, _) => (a, b),
                (_, 200) => (b, a),
                _ => panic!("round {round}: neither refreshed: {a:?} {b:?}"),
            };
            // The second use is a reuse, and reusing a refresh token ends that login.
            lost.assert_problem(401, "refresh_token_reused");
            let t = won.json();
            assert_problem(app.me(Some(t["access_token"].as_str().unwrap())).await, 401, "session_revoked").await;
            assert_problem(app.me(Some(&u.token)).await, 401, "session_revoked").await;
            let res = app.refresh(t["refresh_token"].as_str().unwrap()).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "round {round}");
            // A new login is a new session.
            assert_eq!(app.login(&u.email, PASSWORD).await.status(), StatusCode::OK);
        }
    }

    async fn profile_update_changes_only_profile_fields(app: &TestApp) {
        let u = app.new_talent().await;
        let res = app.update_me(&u, &json!({"display_name": "New Name", "bio": "I render."})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let me: Value = res.json().await.unwrap();
        assert_eq!(me["display_name"], "New Name");
        assert_eq!(me["bio"], "I render.");
        for sneaky in [json!({"roles": ["admin"]}), json!({"status": "active"}), json!({"tier": 5}), json!({"credits": 1000})] {
            assert_problem(app.update_me(&u, &sneaky).await, 422, "validation_failed").await;
        }
        let me: Value = app.me(Some(&u.token)).await.json().await.unwrap();
        assert_eq!(me["roles"], json!(["talent"]));
        assert_eq!(me["headline_tier"], 0);
        let res = app.update_me(&u, &json!({"bio": null})).await;
        let me: Value = res.json().await.unwrap();
        assert_eq!(me["bio"], Value::Null);
        assert_problem(app.update_me(&u, &json!({"display_name": ""})).await, 422, "validation_failed").await;
    }

    async fn bad_tokens_are_refused(app: &TestApp) {
        let u = app.new_talent().await;
        assert_problem(app.me(None).await, 401, "unauthorized").await;
        assert_problem(app.me(Some("not.a.jwt")).await, 401, "invalid_token").await;
        // Tampered payload: another subject, same signature.
        let parts: Vec<&str> = u.token.split('.').collect();
        let forged = b64(&json!({"sub": uuid::Uuid::new_v4(), "sid": uuid::Uuid::new_v4(), "iss": "kartel", "aud": "kartel-api", "iat": 0, "exp": 4_000_000_000i64}));
        let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_problem(app.me(Some(&tampered)).await, 401, "invalid_token").await;
        // alg: none.
        let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), parts[1]);
        assert_problem(app.me(Some(&none)).await, 401, "invalid_token").await;
        // HS256 signed with the public key as the secret (key confusion).
        let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let hs = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &jsonwebtoken::EncodingKey::from_secret(b"secret")).unwrap();
        assert_problem(app.me(Some(&hs)).await, 401, "invalid_token").await;
        // A different Ed25519 key, same kid.
        let other_pem = kartel_api::signing_keys::generate_pem().unwrap();
        let key = jsonwebtoken::EncodingKey::from_ed_pem(other_pem.as_bytes()).unwrap();
        let header: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        h.kid = header["kid"].as_str().map(str::to_owned);
        let wrong_key = jsonwebtoken::encode(&h, &claims, &key).unwrap();
        assert_problem(app.me(Some(&wrong_key)).await, 401, "invalid_token").await;
        // Expired, though signed with the right key.
        let pem = std::fs::read_to_string(app.settings.signing_key_file.as_ref().unwrap()).unwrap();
        let right = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
        let mut expired = claims.clone();
        expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        let tok = jsonwebtoken::encode(&h, &expired, &right).unwrap();
        assert_problem(app.me(Some(&tok)).await, 401, "invalid_token").await;
        // Wrong audience, right key.
        let mut aud = claims.clone();
        aud["aud"] = json!("someone-else");
        let tok = jsonwebtoken::encode(&h, &aud, &right).unwrap();
        assert_problem(app.me(Some(&tok)).await, 401, "invalid_token").await;
        // The untouched claims re-signed with the right key still work: the checks above are real.
        let tok = jsonwebtoken::encode(&h, &claims, &right).unwrap();
        assert_eq!(app.me(Some(&tok)).await.status(), StatusCode::OK);
    }

    async fn suspension_blocks_login_and_live_tokens(app: &TestApp) {
        let admin = app.new_admin().await;
        let u = app.new_talent().await;
        let res = app.update_user(&admin, u.id, &json!({"status": "suspended"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_problem(app.me(Some(&u.token)).await, 401, "session_revoked").await;
        assert_problem(app.login(&u.email, PASSWORD).await, 403, "account_suspended").await;
        assert_eq!(app.refresh(&u.refresh).await.status(), StatusCode::UNAUTHORIZED);
        let res = app.update_user(&admin, u.id, &json!({"status": "active"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(app.login(&u.email, PASSWORD).await.status(), StatusCode::OK);
    }

    async fn a_suspended_account_is_refused_even_with_its_sessions_still_open(app: &TestApp) {
        // Suspended behind the API's back: no session is revoked, so what
        // refuses is the check of the account's status on every way in.
        let u = app.new_talent().await;
        let other = app.new_talent().await;
        assert_eq!(app.exec_sql("UPDATE users SET status = 'suspended' WHERE id = $1", [u.id.into()]).await, 1);
        #[derive(sea_orm::FromQueryResult)]
        struct Open {
            n: i64,
        }
        let open: Open = app
            .query_sql("SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", [u.id.into()])
            .await
            .unwrap();
        assert_eq!(open.n, 1, "the session is still open");

        assert_problem(app.me(Some(&u.token)).await, 403, "account_suspended").await;
        assert_problem(app.my_credits(&u).await, 403, "account_suspended").await;
        assert_problem(app.refresh(&u.refresh).await, 403, "account_suspended").await;
        assert_problem(app.login(&u.email, PASSWORD).await, 403, "account_suspended").await;
        // A wrong password still says only that.
        assert_problem(app.login(&u.email, "wrong password!!").await, 401, "invalid_credentials").await;
        assert_eq!(app.me(Some(&other.token)).await.status(), StatusCode::OK, "others are not affected");

        // Active again: the same session and the same refresh token work (the refusals used nothing up).
        app.exec_sql("UPDATE users SET status = 'active' WHERE id = $1", [u.id.into()]).await;
        assert_eq!(app.me(Some(&u.token)).await.status(), StatusCode::OK);
        assert_eq!(app.refresh(&u.refresh).await.status(), StatusCode::OK);
    }

    async fn only_admins_change_roles_and_it_is_audited(app: &TestApp) {
        let admin = app.new_admin().await;
        let u = app.new_talent().await;
        let other = app.new_talent().await;
        assert_problem(app.update_user(&u, other.id, &json!({"roles": ["admin"]})).await, 403, "forbidden").await;
        assert_problem(app.update_user(&u, u.id, &json!({"roles": ["admin"]})).await, 403, "forbidden").await;
        let manager = app.new_manager().await;
        assert_problem(app.update_user(&manager, other.id, &json!({"roles": ["admin"]})).await, 403, "forbidden").await;
        assert_problem(app.update_user(&admin, other.id, &json!({"roles": ["wizard"]})).await, 422, "validation_failed").await;
        // Nothing to change: the account as it is.
        let unchanged = app.update_user(&admin, other.id, &json!({"roles": null, "status": null})).await;
        assert_eq!(unchanged.status(), StatusCode::OK);
        assert_eq!(unchanged.json::<Value>().await.unwrap()["status"], json!("active"));
        assert_problem(app.update_user(&admin, uuid::Uuid::new_v4(), &json!({"roles": []})).await, 404, "not_found").await;
        let res = app.update_user(&admin, other.id, &json!({"roles": ["community_manager"]})).await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["roles"], json!(["talent", "community_manager"]));
        // The new role takes effect on the existing token.
        assert_eq!(app.get("/api/v1/talents", Some(&other.token)).await.status(), StatusCode::OK);
        assert_problem(app.update_user(&admin, admin.id, &json!({"roles": ["talent"]})).await, 409, "cannot_remove_own_admin_role").await;

        let log: Value = app.audit_log(&admin, "action=user.update").await.json().await.unwrap();
        let entry = log["items"].as_array().unwrap().iter().find(|e| e["target_id"] == json!(other.id.to_string())).expect("audited");
        assert_eq!(entry["actor_id"], json!(admin.id.to_string()));
        assert_eq!(entry["before"]["roles"], json!(["talent"]));
        assert_eq!(entry["after"]["roles"], json!(["talent", "community_manager"]));
        assert_problem(app.audit_log(&u, "").await, 403, "forbidden").await;
    }

    async fn staff_search_talents_with_cursor_pagination(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        for _ in 0..5 {
            app.new_talent().await;
        }
        assert_problem(app.get("/api/v1/talents", Some(&talent.token)).await, 403, "forbidden").await;
        assert_problem(app.get("/api/v1/talents", None).await, 401, "unauthorized").await;
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/talents?limit=2&cursor={c}"),
                None => "/api/v1/talents?limit=2".to_owned(),
            };
            let page: Value = app.get(&path, Some(&manager.token)).await.json().await.unwrap();
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            for i in items {
                assert!(seen.insert(i["id"].as_str().unwrap().to_owned()), "duplicate across pages");
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert!(seen.len() >= 8, "saw {}", seen.len());
        let found: Value = app.get(&format!("/api/v1/talents?q={}", &talent.email[..8]), Some(&manager.token)).await.json().await.unwrap();
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        let admins: Value = app.get("/api/v1/talents?role=admin", Some(&manager.token)).await.json().await.unwrap();
        let admins = admins["items"].as_array().unwrap();
        // One admin made the manager; an empty page would pass any `all`.
        assert_eq!(admins.len(), 1, "{admins:?}");
        assert!(admins.iter().all(|u| u["roles"].as_array().unwrap().contains(&json!("admin"))));
        assert_problem(app.get("/api/v1/talents?limit=1000", Some(&manager.token)).await, 422, "validation_failed").await;
        assert_problem(app.get("/api/v1/talents?cursor=!!", Some(&manager.token)).await, 422, "validation_failed").await;
        assert_problem(app.get("/api/v1/talents?status=zombie", Some(&manager.token)).await, 422, "validation_failed").await;
    }

    async fn public_profile_hides_private_fields(app: &TestApp) {
        let u = app.new_talent().await;
        let manager = app.new_manager().await;
        let public: Value = app.get(&format!("/api/v1/talents/{}", u.id), None).await.json().await.unwrap();
        assert!(public.get("email").is_none());
        assert!(public.get("roles").is_none());
        assert_eq!(public["headline_tier"], 0);
        let staff: Value = app.get(&format!("/api/v1/talents/{}", u.id), Some(&manager.token)).await.json().await.unwrap();
        assert_eq!(staff["email"], json!(u.email));
        assert_problem(app.get(&format!("/api/v1/talents/{}", uuid::Uuid::new_v4()), None).await, 404, "not_found").await;
    }

    async fn api_keys_are_shown_once_listed_and_revocable(app: &TestApp) {
        let admin = app.new_admin().await;
        let talent = app.new_talent().await;
        assert_problem(app.create_api_key(&talent, "x", &["credits:hold"]).await, 403, "forbidden").await;
        assert_problem(app.create_api_key(&admin, "x", &["root"]).await, 422, "validation_failed").await;
        assert_problem(app.create_api_key(&admin, "x", &[]).await, 422, "validation_failed").await;
        let res = app.create_api_key(&admin, "gen", &["credits:hold"]).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let key: Value = res.json().await.unwrap();
        let secret = key["secret"].as_str().unwrap().to_owned();
        let id = key["id"].as_str().unwrap().to_owned();
        let list: Value = app.list_api_keys(&admin).await.json().await.unwrap();
        let listed = list["items"].as_array().unwrap().iter().find(|k| k["id"] == json!(id)).unwrap();
        assert!(listed.get("secret").is_none());
        assert_eq!(listed["scopes"], json!(["credits:hold"]));

        let hold = |k: String| {
            let body = json!({"talent_id": talent.id, "amount": 1, "purpose": "run"});
            let app = &app;
            async move { app.post_service("/api/v1/credits/holds", &k, &uuid::Uuid::new_v4().to_string(), &body).await }
        };
        // The key works (the talent has no credits: a clean refusal, not an auth error).
        assert_problem(hold(secret.clone()).await, 409, "insufficient_credits").await;
        assert_eq!(app.revoke_api_key(&admin, &id).await.status(), StatusCode::NO_CONTENT);
        assert_problem(hold(secret).await, 401, "invalid_api_key").await;
        assert_problem(hold("kk_made_up".into()).await, 401, "invalid_api_key").await;
        let audit: Value = app.audit_log(&admin, "action=api_key.revoke").await.json().await.unwrap();
        assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    }

    async fn every_admin_route_refuses_talents_managers_and_strangers(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        let some = uuid::Uuid::new_v4();
        let routes: Vec<(reqwest::Method, String, Value)> = vec![
            (reqwest::Method::PATCH, format!("/api/v1/admin/users/{some}"), json!({"status": "suspended"})),
            (reqwest::Method::POST, "/api/v1/admin/api-keys".into(), json!({"name": "x", "scopes": ["credits:hold"]})),
            (reqwest::Method::GET, "/api/v1/admin/api-keys".into(), Value::Null),
            (reqwest::Method::GET, format!("/api/v1/admin/api-keys/{some}"), Value::Null),
            (reqwest::Method::DELETE, format!("/api/v1/admin/api-keys/{some}"), Value::Null),
            (reqwest::Method::GET, "/api/v1/admin/audit-log".into(), Value::Null),
            (reqwest::Method::GET, "/api/v1/admin/ledger/check".into(), Value::Null),
            (reqwest::Method::PUT, "/api/v1/credits/allowance-policies/0".into(), json!({"amount": 1})),
        ];
        for (method, path, body) in &routes {
            let send = |token: Option<String>| {
                let mut r = app.client.request(method.clone(), app.url(path));
                if !body.is_null() {
                    r = r.json(body);
                }
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                async move { r.send().await.unwrap() }
            };
            assert_problem(send(None).await, 401, "unauthorized").await;
            assert_problem(send(Some(talent.token.clone())).await, 403, "forbidden").await;
            assert_problem(send(Some(manager.token.clone())).await, 403, "forbidden").await;
        }
        assert_problem(app.get("/api/v1/talents", Some(&talent.token)).await, 403, "forbidden").await;
    }

    async fn operations_endpoints_answer(app: &TestApp) {
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
        let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
        assert_eq!(ready["status"], "ok");
        assert_eq!(ready["redis"], if app.settings.redis_url.is_some() { "ok" } else { "not_configured" });
        let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        let spec: Value = app.get("/openapi.json", None).await.json().await.unwrap();
        assert!(spec["paths"]["/api/v1/auth/login"].is_object());
        let docs = app.get("/docs/", None).await;
        assert_eq!(docs.status(), StatusCode::OK);
        assert!(docs.text().await.unwrap().contains("swagger"));
        app.me(None).await;
        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        assert!(metrics.contains("kartel_http_requests_total"), "{metrics}");
        assert!(metrics.contains("kartel_http_requests_duration_seconds_bucket"));
        assert!(metrics.contains("kartel_db_pool_connections"));
        let res = app.get("/healthz", None).await;
        assert!(res.headers().get("x-request-id").is_some());
    }
}

async fn rate_limit_case(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.auth_rate_limit_per_ip = 1000;
        s.auth_rate_limit_per_account = 3;
    })
    .await;
    let u = app.new_talent().await; // one login used
    for _ in 0..2 {
        assert_eq!(
            app.login(&u.email, "wrong password!!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = app.login(&u.email, PASSWORD).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "rate_limited").await;
    // Another account from the same IP is not limited by this one.
    let other = app.new_talent().await;
    assert_eq!(app.me(Some(&other.token)).await.status(), StatusCode::OK);
    app.stop().await;

    let app = TestApp::spawn_with(backend, |s| s.auth_rate_limit_per_ip = 2).await;
    for i in 0..2 {
        let r = app.refresh(&format!("rt_{i}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app.refresh("rt_x").await;
    assert_problem(r, 429, "rate_limited").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_refresh_are_rate_limited_on_sqlite() {
    rate_limit_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL + Redis test"
)]
async fn login_and_refresh_are_rate_limited_on_postgres_with_redis() {
    assert!(
        crate::helpers::redis_url().is_some(),
        "TEST_REDIS_URL is not set: these limits would not be kept in Redis"
    );
    rate_limit_case(Backend::Postgres).await;
}

async fn revocation_case(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.api_key_cache_seconds = 1).await;
    // A second instance on the same database.
    let mut settings = app.settings.clone();
    settings.addr = "127.0.0.1:0".parse().unwrap();
    let second = kartel_api::startup::Application::build(settings)
        .await
        .unwrap();
    let second_url = format!("http://127.0.0.1:{}", second.port());
    let second_handle = second.handle();
    tokio::spawn(second.run_until_stopped());

    let admin = app.new_admin().await;
    let talent = app.new_talent().await;
    let res = app.create_api_key(&admin, "gen", &["credits:hold"]).await;
    let key: Value = res.json().await.unwrap();
    let (secret, id) = (
        key["secret"].as_str().unwrap().to_owned(),
        key["id"].as_str().unwrap().to_owned(),
    );
    let hold_at = |base: String| {
        let (client, secret) = (app.client.clone(), secret.clone());
        let body = json!({"talent_id": talent.id, "amount": 1, "purpose": "run"});
        async move {
            client
                .post(format!("{base}/api/v1/credits/holds"))
                .header("X-Api-Key", secret)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // Both instances know the key (and cache it).
    assert_problem(
        hold_at(app.address.clone()).await,
        409,
        "insufficient_credits",
    )
    .await;
    assert_problem(
        hold_at(second_url.clone()).await,
        409,
        "insufficient_credits",
    )
    .await;

    let res = app.revoke_api_key(&admin, &id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // At once on the instance that revoked it; within the cache time on the other.
    assert_problem(hold_at(app.address.clone()).await, 401, "invalid_api_key").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_problem(hold_at(second_url.clone()).await, 401, "invalid_api_key").await;

    second_handle.stop(false).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_api_key_stops_on_every_instance_within_the_cache_time_on_sqlite() {
    revocation_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn a_revoked_api_key_stops_on_every_instance_within_the_cache_time_on_postgres() {
    revocation_case(Backend::Postgres).await;
}

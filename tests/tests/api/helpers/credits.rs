//! The credits API, one method per endpoint: grants, spends, holds,
//! reversals, the allowance, balances, history and the ledger check.
//!
//! Below them, the conveniences that assert success: `fund`, `new_grant`,
//! `new_hold`, `read_hold`, `balance`, `owed`, `balance_of`, `history_pages`,
//! `all_history`, `ledger_ok` and `assert_books_balance`.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TestApp, User, new_key, with_query};

/// The endpoints.
impl TestApp {
    /// `POST /api/v1/credits/grants`: `by` gives `amount` to `talent`.
    pub async fn grant(&self, by: &User, key: &str, talent: Uuid, amount: i64) -> Response {
        self.post_idem(
            "/api/v1/credits/grants",
            Some(&by.token),
            key,
            &json!({ "talent_id": talent, "amount": amount, "reason": "test grant" }),
        )
        .await
    }

    /// `POST /api/v1/credits/spends`: `who` spends their own credits.
    pub async fn spend(&self, who: &User, key: &str, amount: i64) -> Response {
        self.post_idem(
            "/api/v1/credits/spends",
            Some(&who.token),
            key,
            &json!({ "amount": amount, "purpose": "test spend" }),
        )
        .await
    }

    /// `POST /api/v1/credits/holds`: `who` puts `amount` of their own credits on hold.
    pub async fn create_hold(
        &self,
        who: &User,
        key: &str,
        amount: i64,
        expires_in_seconds: Option<i64>,
    ) -> Response {
        self.post_idem(
            "/api/v1/credits/holds",
            Some(&who.token),
            key,
            &json!({ "amount": amount, "purpose": "test hold", "expires_in_seconds": expires_in_seconds }),
        )
        .await
    }

    /// `POST /api/v1/credits/holds/{id}/capture`: all of the hold, or `amount` of it.
    pub async fn capture_hold(
        &self,
        who: &User,
        hold_id: &str,
        key: &str,
        amount: Option<i64>,
    ) -> Response {
        let b = amount.map_or_else(|| json!({}), |a| json!({ "amount": a }));
        self.post_idem(
            &format!("/api/v1/credits/holds/{hold_id}/capture"),
            Some(&who.token),
            key,
            &b,
        )
        .await
    }

    /// `POST /api/v1/credits/holds/{id}/release`.
    pub async fn release_hold(&self, who: &User, hold_id: &str, key: &str) -> Response {
        self.post_idem(
            &format!("/api/v1/credits/holds/{hold_id}/release"),
            Some(&who.token),
            key,
            &json!({}),
        )
        .await
    }

    /// `GET /api/v1/credits/holds/{id}`.
    pub async fn get_hold(&self, who: &User, hold_id: &str) -> Response {
        self.get(
            &format!("/api/v1/credits/holds/{hold_id}"),
            Some(&who.token),
        )
        .await
    }

    /// `GET /api/v1/me/credits/holds?{query}`.
    pub async fn my_holds(&self, who: &User, query: &str) -> Response {
        self.get(
            &with_query("/api/v1/me/credits/holds", query),
            Some(&who.token),
        )
        .await
    }

    /// `GET /api/v1/talents/{id}/credits/holds?{query}`.
    pub async fn talent_holds(&self, viewer: &User, talent: Uuid, query: &str) -> Response {
        self.get(
            &with_query(&format!("/api/v1/talents/{talent}/credits/holds"), query),
            Some(&viewer.token),
        )
        .await
    }

    /// `POST /api/v1/credits/transactions/{id}/reverse`.
    pub async fn reverse_transaction(
        &self,
        who: &User,
        transaction_id: &str,
        key: &str,
    ) -> Response {
        self.post_idem(
            &format!("/api/v1/credits/transactions/{transaction_id}/reverse"),
            Some(&who.token),
            key,
            &json!({ "reason": "test reversal" }),
        )
        .await
    }

    /// `POST /api/v1/credits/allowance`: this month's allowance.
    pub async fn claim_allowance(&self, who: &User, key: &str) -> Response {
        self.post_idem(
            "/api/v1/credits/allowance",
            Some(&who.token),
            key,
            &json!({}),
        )
        .await
    }

    /// `GET /api/v1/credits/allowance-policies`, which needs no sign-in.
    pub async fn allowance_policies(&self) -> Response {
        self.get("/api/v1/credits/allowance-policies", None).await
    }

    /// `PUT /api/v1/credits/allowance-policies/{tier}`.
    pub async fn set_allowance_policy(&self, by: &User, tier: u8, amount: i64) -> Response {
        self.put(
            &format!("/api/v1/credits/allowance-policies/{tier}"),
            Some(&by.token),
            &json!({ "amount": amount }),
        )
        .await
    }

    /// `GET /api/v1/me/credits`.
    pub async fn my_credits(&self, who: &User) -> Response {
        self.get("/api/v1/me/credits", Some(&who.token)).await
    }

    /// `GET /api/v1/talents/{id}/credits`.
    pub async fn talent_credits(&self, viewer: &User, talent: Uuid) -> Response {
        self.get(
            &format!("/api/v1/talents/{talent}/credits"),
            Some(&viewer.token),
        )
        .await
    }

    /// `GET /api/v1/me/credits/transactions?{query}`.
    pub async fn credit_history(&self, who: &User, query: &str) -> Response {
        self.get(
            &with_query("/api/v1/me/credits/transactions", query),
            Some(&who.token),
        )
        .await
    }

    /// `GET /api/v1/talents/{id}/credits/transactions?{query}`.
    pub async fn talent_credit_history(
        &self,
        viewer: &User,
        talent: Uuid,
        query: &str,
    ) -> Response {
        self.get(
            &with_query(
                &format!("/api/v1/talents/{talent}/credits/transactions"),
                query,
            ),
            Some(&viewer.token),
        )
        .await
    }

    /// `GET /api/v1/admin/ledger/check`: the reconciliation report.
    pub async fn ledger_check(&self, by: &User) -> Response {
        self.get("/api/v1/admin/ledger/check", Some(&by.token))
            .await
    }
}

/// The conveniences: each asserts success and returns what was made or read.
impl TestApp {
    /// Grants credits to `talent` by a new manager.
    pub async fn fund(&self, talent: Uuid, amount: i64) {
        let m = self.new_manager().await;
        let res = self.grant(&m, &new_key(), talent, amount).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    /// A grant that must succeed; returns the transaction.
    pub async fn new_grant(&self, by: &User, talent: Uuid, amount: i64) -> Value {
        let res = self.grant(by, &new_key(), talent, amount).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }

    /// Places a hold that must succeed; returns its id.
    pub async fn new_hold(
        &self,
        who: &User,
        amount: i64,
        expires_in_seconds: Option<i64>,
    ) -> String {
        let res = self
            .create_hold(who, &new_key(), amount, expires_in_seconds)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let h: Value = res.json().await.expect("json");
        assert_eq!(h["status"], "pending");
        assert_eq!(h["amount"], json!(amount));
        h["id"].as_str().expect("id").to_owned()
    }

    /// A hold `who` can see, as it is now.
    pub async fn read_hold(&self, who: &User, hold_id: &str) -> Value {
        let res = self.get_hold(who, hold_id).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// (available, held) of `user`, as they read it.
    pub async fn balance(&self, user: &User) -> (i64, i64) {
        let b: Value = self.my_credits(user).await.json().await.expect("json");
        (
            b["available"].as_i64().expect("available"),
            b["held"].as_i64().expect("held"),
        )
    }

    /// What `user` owes (rewards taken back by overturns, not yet collected).
    pub async fn owed(&self, user: &User) -> i64 {
        let b: Value = self.my_credits(user).await.json().await.expect("json");
        b["owed"].as_i64().expect("owed")
    }

    /// (available, held) of `talent` as `viewer` reads it.
    pub async fn balance_of(&self, viewer: &User, talent: Uuid) -> (i64, i64) {
        let res = self.talent_credits(viewer, talent).await;
        assert_eq!(res.status(), StatusCode::OK);
        let b: Value = res.json().await.expect("json");
        assert_eq!(b["talent_id"], json!(talent));
        (
            b["available"].as_i64().expect("available"),
            b["held"].as_i64().expect("held"),
        )
    }

    /// Every page of the caller's history, following `next_cursor`; `query` adds filters.
    pub async fn history_pages(&self, who: &User, limit: u32, query: &str) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = format!("limit={limit}");
            if !query.is_empty() {
                q.push('&');
                q.push_str(query);
            }
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={c}"));
            }
            let res = self.credit_history(who, &q).await;
            assert_eq!(res.status(), StatusCode::OK, "{q}");
            let page: Value = res.json().await.expect("json");
            pages.push(page["items"].as_array().expect("items").clone());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return pages,
            }
            assert!(pages.len() < 1000, "history does not end");
        }
    }

    /// The caller's whole history, newest first; `query` adds filters.
    pub async fn all_history(&self, who: &User, query: &str) -> Vec<Value> {
        self.history_pages(who, 100, query).await.concat()
    }

    /// The reconciliation report, asserted clean.
    pub async fn ledger_ok(&self, admin: &User) -> Value {
        let res = self.ledger_check(admin).await;
        assert_eq!(res.status(), StatusCode::OK);
        let report: Value = res.json().await.expect("json");
        assert_eq!(report["ok"], json!(true), "ledger check: {report}");
        assert_eq!(report["book_total"], json!(0), "ledger check: {report}");
        report
    }

    /// Runs the reconciliation as a new admin and asserts it is clean.
    pub async fn assert_books_balance(&self) {
        let admin = self.new_admin().await;
        let res = self.ledger_check(&admin).await;
        assert_eq!(res.status(), StatusCode::OK);
        let report: Value = res.json().await.expect("json");
        assert_eq!(report["ok"], json!(true), "ledger check: {report}");
    }
}

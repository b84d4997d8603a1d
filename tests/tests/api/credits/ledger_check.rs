//! The reconciliation check: it must notice books that were changed behind
//! the ledger's back (balances, holds, versions).

use reqwest::StatusCode;
use serde_json::json;

use super::body;
use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends! {
    async fn the_ledger_check_notices_corrupted_books(app: &TestApp) {
        let talent = app.new_talent().await;
        let admin = app.new_admin().await;
        app.fund(talent.id, 100).await;
        app.ledger_ok(&admin).await;
        kartel_domain::db::execute(
            &app.db,
            "UPDATE ledger_accounts SET posted = posted + 7, held = held + 3, version = version + 1 WHERE talent_id = $1",
            [talent.id.into()],
        )
        .await
        .unwrap();
        let res = app.ledger_check(&admin).await;
        assert_eq!(res.status(), StatusCode::OK);
        let report = body(res).await;
        assert_eq!(report["ok"], json!(false), "{report}");
        let issue = |check: &str| {
            report["issues"].as_array().unwrap().iter().find(|i| i["check"] == check).cloned().unwrap_or_else(|| panic!("no {check}: {report}"))
        };
        let posted = issue("balance_mismatch");
        assert_eq!((posted["expected"].clone(), posted["actual"].clone()), (json!(100), json!(107)));
        let held = issue("held_mismatch");
        assert_eq!((held["expected"].clone(), held["actual"].clone()), (json!(0), json!(3)));
        let version = issue("version_mismatch");
        assert_eq!((version["expected"].clone(), version["actual"].clone()), (json!(1), json!(2)));
        assert_eq!(report["issues"].as_array().unwrap().len(), 3, "{report}");
    }
}

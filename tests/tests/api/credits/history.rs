//! Transaction history: cursor pages without gaps or repeats while new
//! transactions arrive, `balance_after` chains, and the kind and time filters.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{body, id_of, time_of};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, new_key};

both_backends! {
    async fn history_pages_have_no_gaps_or_repeats_and_filter_by_kind(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        let mut made = vec![id_of(&app.new_grant(&manager, talent.id, 1_000).await)];
        for i in 1..=20 {
            let res = app.spend(&talent, &new_key(), i).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            made.push(id_of(&body(res).await));
        }
        for amount in [30, 40] {
            let h = app.new_hold(&talent, amount, None).await;
            let res = app.capture_hold(&talent, &h, &new_key(), Some(amount - 5)).await;
            assert_eq!(res.status(), StatusCode::OK);
            made.push(body(res).await["capture_transaction_id"].as_str().unwrap().to_owned());
        }
        made.push(id_of(&app.new_grant(&manager, talent.id, 7).await));
        let admin = app.new_admin().await;
        let res = app.reverse_transaction(&admin, &made[3], &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        made.push(id_of(&body(res).await));
        assert_eq!(made.len(), 25);

        // Page through 7 at a time; new transactions in between do not shift the pages.
        let mut items: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut sizes = Vec::new();
        let mut later = Vec::new();
        loop {
            let query = match &cursor {
                Some(c) => format!("limit=7&cursor={c}"),
                None => "limit=7".to_owned(),
            };
            let page = body(app.credit_history(&talent, &query).await).await;
            let page_items = page["items"].as_array().unwrap().clone();
            sizes.push(page_items.len());
            items.extend(page_items);
            let res = app.spend(&talent, &new_key(), 1).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            later.push(id_of(&body(res).await));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(sizes, [7, 7, 7, 4]);
        let ids: Vec<String> = items.iter().map(id_of).collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "no repeats");
        let mut newest_first = made.clone();
        newest_first.reverse();
        assert_eq!(ids, newest_first, "exactly what was made, newest first");
        for pair in items.windows(2) {
            let (newer, older) = (&pair[0], &pair[1]);
            assert_eq!(
                newer["balance_after"].as_i64().unwrap() - newer["amount"].as_i64().unwrap(),
                older["balance_after"].as_i64().unwrap(),
                "balance_after chains: {newer} after {older}"
            );
            assert!(time_of(newer) >= time_of(older), "newest first: {newer} after {older}");
        }
        assert_eq!(items.last().unwrap()["balance_after"], json!(1_000));

        // Now with the later spends: the whole history folds to the balance.
        let all = app.all_history(&talent, "").await;
        assert_eq!(all.len(), 25 + later.len());
        let posted: i64 = all.iter().map(|t| t["amount"].as_i64().unwrap()).sum();
        let (available, held) = app.balance(&talent).await;
        assert_eq!(held, 0);
        assert_eq!(posted, available);
        assert_eq!(all[0]["balance_after"], json!(available));

        // Filters by kind, through pages too.
        let spends: Vec<Value> = app.history_pages(&talent, 3, "kind=spend").await.concat();
        assert_eq!(spends.len(), 20 + later.len());
        assert!(spends.iter().all(|t| t["kind"] == "spend"));
        let spend_ids: HashSet<String> = spends.iter().map(id_of).collect();
        assert_eq!(spend_ids.len(), spends.len());
        let captures = app.all_history(&talent, "kind=capture").await;
        assert_eq!(captures.iter().map(|t| t["amount"].as_i64().unwrap()).collect::<Vec<_>>(), [-35, -25]);
        assert_eq!(app.all_history(&talent, "kind=grant").await.len(), 2);
        let reversals = app.all_history(&talent, "kind=reversal").await;
        assert_eq!(reversals.len(), 1);
        assert_eq!(reversals[0]["reverses_id"], json!(made[3]));
        assert_eq!(reversals[0]["amount"], json!(3));
        assert!(app.all_history(&talent, "kind=allowance").await.is_empty());
        // A time window that cuts the history in two: `from` keeps what was
        // made at or after a moment, `to` what was made before it.
        let middle = time_of(&all[all.len() / 2]);
        let at = middle.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let later_part = all.iter().filter(|t| time_of(t) >= middle).count();
        assert!(later_part > 0 && later_part < all.len(), "{later_part} of {}", all.len());
        let from = app.all_history(&talent, &format!("from={at}")).await;
        assert_eq!(from.len(), later_part);
        assert!(from.iter().all(|t| time_of(t) >= middle));
        let to = app.all_history(&talent, &format!("to={at}")).await;
        assert_eq!(to.len(), all.len() - later_part);
        assert!(to.iter().all(|t| time_of(t) < middle));
        // Everything is after the epoch, nothing before it.
        assert_eq!(app.all_history(&talent, "from=2000-01-01T00:00:00Z").await.len(), all.len());
        assert!(app.all_history(&talent, "to=2000-01-01T00:00:00Z").await.is_empty());
        app.ledger_ok(&admin).await;
    }
}

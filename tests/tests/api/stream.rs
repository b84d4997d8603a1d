//! The live stream (`GET /api/v1/stream`, Server-Sent Events): a person
//! gets their own events and nobody else's, each with its position as
//! `id`; `Last-Event-ID` resumes without a gap, also across a restart of
//! the instance; an id the stream cannot resume from gets `event: reset`;
//! a ticket opens it once, and not after it expired; staff follow the
//! topics their role may; a suspended or erased account's stream ends.

use std::time::Duration;

use kartel_domain::events::{self, CreditsMoved, Event};
use kartel_domain::ledger::TransactionKind;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, Sse, SseEvent, TestApp, User, assert_problem, new_key};

/// Grants `amount` to `talent`; the transaction's id.
async fn grant(app: &TestApp, manager: &User, talent: Uuid, amount: i64) -> String {
    let res = app.grant(manager, &new_key(), talent, amount).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// The next `credits.moved` of the stream, skipping nothing else: every
/// event a talent's stream carries in these tests is one.
async fn next_credits(sse: &mut Sse) -> SseEvent {
    let e = sse.next_event().await.expect("an event, not the end");
    assert_eq!(e.event, "credits.moved", "{e:?}");
    assert_eq!(e.data["type"], "credits.moved");
    e
}

/// The positions of the `credits.moved` events about `talent`, in order.
async fn positions_of(app: &TestApp, talent: Uuid) -> Vec<i64> {
    events::after(&app.db, 0, &[events::EventKind::CreditsMoved], 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.stored.event, Event::CreditsMoved(m) if m.talent_id == talent))
        .map(|e| e.position)
        .collect()
}

both_backends! {
    #[settings(|s| s.stream_keep_alive_seconds = 1)]
    async fn a_person_gets_their_own_events_with_positions_and_nobody_elses(app: &TestApp) {
        let manager = app.new_manager().await;
        let (t, u) = (app.new_talent().await, app.new_talent().await);
        let mut mine = app.stream_of(&t, "").await;
        let mut theirs = app.stream_of(&u, "").await;
        let a = grant(app, &manager, t.id, 10).await;
        grant(app, &manager, u.id, 7).await;
        let b = grant(app, &manager, t.id, 5).await;

        let first = next_credits(&mut mine).await;
        let second = next_credits(&mut mine).await;
        assert_eq!(mine.retry, Some(5000));
        assert_eq!(first.data["data"]["transaction_id"], a.as_str());
        assert_eq!(first.data["data"]["talent_id"], t.id.to_string());
        assert_eq!(first.data["data"]["amount"], 10);
        assert_eq!(second.data["data"]["transaction_id"], b.as_str());
        assert_eq!(second.data["data"]["balance_after"], 15);
        // A spend (on PostgreSQL the one-statement path writes its event).
        let res = app.spend(&t, &new_key(), 4).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let spent = next_credits(&mut mine).await;
        assert_eq!(spent.data["data"]["kind"], "spend");
        assert_eq!(spent.data["data"]["amount"], -4);
        assert_eq!(spent.data["data"]["balance_after"], 11);
        let ids = vec![first.id.unwrap(), second.id.unwrap(), spent.id.unwrap()];
        assert_eq!(ids, positions_of(app, t.id).await, "the ids are the events' positions");
        let other = next_credits(&mut theirs).await;
        assert_eq!(other.data["data"]["talent_id"], u.id.to_string());
        // Nothing of u's reaches t: only keep-alives come now.
        assert!(mine.quiet_for(Duration::from_millis(2500)).await.is_none());
        assert!(mine.comments >= 1, "a keep-alive comment every second");
        assert!(theirs.quiet_for(Duration::from_millis(200)).await.is_none());
    }

    async fn an_id_it_cannot_resume_from_resets_the_client(app: &TestApp) {
        let manager = app.new_manager().await;
        let t = app.new_talent().await;
        grant(app, &manager, t.id, 1).await;
        app.events_settled().await;
        let head = events::head(&app.db).await.unwrap();
        for (id, reason) in [(head + 10, "unknown_position"), (-3, "malformed")] {
            let mut sse = Sse::new(app.open_stream(Some(&t), "", Some(id)).await);
            let reset = sse.next_event().await.unwrap();
            assert_eq!(reset.event, "reset");
            assert_eq!(reset.data["reason"], reason);
            assert!(reset.id.unwrap() >= head, "a reconnect resumes from the newest");
            grant(app, &manager, t.id, 2).await;
            assert_eq!(next_credits(&mut sse).await.data["data"]["amount"], 2);
        }
    }

    #[settings(|s| s.stream_resume_events = 2)]
    async fn an_id_older_than_the_resume_window_resets_the_client(app: &TestApp) {
        let manager = app.new_manager().await;
        let t = app.new_talent().await;
        for amount in 1..=4 {
            grant(app, &manager, t.id, amount).await;
        }
        app.events_settled().await;
        let head = events::head(&app.db).await.unwrap();
        let mut old = Sse::new(app.open_stream(Some(&t), "", Some(head - 3)).await);
        let reset = old.next_event().await.unwrap();
        assert_eq!((reset.event.as_str(), &reset.data["reason"]), ("reset", &Value::from("beyond_retention")));
        let mut recent = Sse::new(app.open_stream(Some(&t), "", Some(head - 1)).await);
        let e = next_credits(&mut recent).await;
        assert_eq!(e.id, Some(head));
    }

    async fn a_ticket_opens_the_stream_once_and_not_after_it_expired(app: &TestApp) {
        let manager = app.new_manager().await;
        let t = app.new_talent().await;
        let res = app.stream_ticket(&t).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        let ticket = body["ticket"].as_str().unwrap().to_owned();
        assert!(body["expires_at"].is_string());
        let mut sse = Sse::new(app.open_stream(None, &format!("ticket={ticket}"), None).await);
        grant(app, &manager, t.id, 3).await;
        assert_eq!(next_credits(&mut sse).await.data["data"]["talent_id"], t.id.to_string());
        // Used once: never again, on any instance.
        let again = app.open_stream(None, &format!("ticket={ticket}"), None).await;
        assert_problem(again, 401, "invalid_ticket").await;
        // Expired: refused although never used.
        let res = app.stream_ticket(&t).await;
        let late: Value = res.json().await.unwrap();
        app.exec_sql(
            "UPDATE stream_tickets SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL",
            [(chrono::Utc::now() - chrono::Duration::seconds(1)).into(), t.id.into()],
        )
        .await;
        let res = app.open_stream(None, &format!("ticket={}", late["ticket"].as_str().unwrap()), None).await;
        assert_problem(res, 401, "invalid_ticket").await;
        // A made-up ticket, and none at all.
        assert_problem(app.open_stream(None, "ticket=kst_nope", None).await, 401, "invalid_ticket").await;
        assert_problem(app.open_stream(None, "", None).await, 401, "unauthorized").await;
        // Asking for one needs a person.
        let res = app.post("/api/v1/stream/tickets", None, &Value::Null).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    async fn staff_follow_the_topics_their_role_may(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_with_roles(&["generative_lead"]).await;
        let (t, u) = (app.new_talent().await, app.new_talent().await);
        let res = app.open_stream(Some(&t), "topics=credits", None).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.open_stream(Some(&lead), "topics=reviews", None).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.open_stream(Some(&manager), "topics=credits,gossip", None).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "topics");
        let mut feed = app.stream_of(&lead, "credits,handoffs").await;
        grant(app, &manager, t.id, 1).await;
        grant(app, &manager, u.id, 2).await;
        let whose: Vec<Value> = vec![
            next_credits(&mut feed).await.data["data"]["talent_id"].clone(),
            next_credits(&mut feed).await.data["data"]["talent_id"].clone(),
        ];
        assert_eq!(whose, vec![Value::from(t.id.to_string()), Value::from(u.id.to_string())]);
    }

    #[settings(|s| s.stream_keep_alive_seconds = 300)]
    async fn a_suspended_or_erased_accounts_stream_ends(app: &TestApp) {
        let admin = app.new_admin().await;
        let (t, u) = (app.new_talent().await, app.new_talent().await);
        let ticket: Value = app.stream_ticket(&t).await.json().await.unwrap();
        let mut sse = app.stream_of(&t, "").await;
        let mut other = app.stream_of(&u, "").await;
        app.set_status(&admin, t.id, "suspended").await;
        // At once, not at the next keep-alive (five minutes away).
        let seen = sse.next_event().await.expect("the suspension, then the end");
        assert_eq!(seen.event, "user.suspended");
        let end = sse.next_event().await.expect("the end");
        assert_eq!((end.event.as_str(), &end.data["reason"]), ("end", &Value::from("access_ended")));
        assert!(sse.next_event().await.is_none(), "the stream closed");
        // Its ticket no longer opens one; someone else's stream goes on.
        let res = app.open_stream(None, &format!("ticket={}", ticket["ticket"].as_str().unwrap()), None).await;
        assert!(res.status() == 401 || res.status() == 403, "{}", res.status());
        assert!(other.quiet_for(Duration::from_millis(300)).await.is_none());

        let res = app.erase_user(&admin, u.id).await;
        assert!(res.status().is_success(), "{}", res.status());
        let end = other.next_event().await.expect("the end");
        assert_eq!(end.event, "end");
        assert!(other.next_event().await.is_none());
    }
}

/// The test the issue asks for: events committed while the client was away
/// — before the instance stopped, while it was down, after it came back —
/// all arrive, once each and in order, when it comes back with the last id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_event_id_resumes_without_a_gap_across_a_restart_on_sqlite() {
    resumes_without_a_gap_across_a_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn last_event_id_resumes_without_a_gap_across_a_restart_on_postgres() {
    resumes_without_a_gap_across_a_restart(Backend::Postgres).await;
}

async fn resumes_without_a_gap_across_a_restart(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let manager = app.new_manager().await;
    let (t, u) = (app.new_talent().await, app.new_talent().await);
    let mut sse = app.stream_of(&t, "").await;
    grant(&app, &manager, t.id, 1).await;
    grant(&app, &manager, t.id, 2).await;
    let mut seen = vec![next_credits(&mut sse).await.id.unwrap()];
    seen.push(next_credits(&mut sse).await.id.unwrap());
    // More happen that the client does not read before the instance
    // stops: they are lost to this connection, not to the client.
    grant(&app, &manager, t.id, 3).await;
    grant(&app, &manager, u.id, 4).await;
    app.stop_server().await;
    assert!(
        sse.next_event().await.is_none(),
        "the connection ended with the instance"
    );
    // While it was down, an event was committed (by another instance, say):
    // it gets its place once a sequencer runs again.
    let moved = Event::CreditsMoved(CreditsMoved {
        transaction_id: Uuid::new_v4(),
        talent_id: t.id,
        kind: TransactionKind::Grant,
        amount: 9,
        balance_after: 15,
    });
    events::write_row_for_tests(&app.db, t.id, &moved)
        .await
        .unwrap();
    app.start_again().await;
    for amount in [5, 6] {
        grant(&app, &manager, t.id, amount).await;
        grant(&app, &manager, u.id, amount).await;
    }
    app.events_settled().await;
    let all = positions_of(&app, t.id).await;
    assert_eq!(all.len(), 6);

    let last = *seen.last().unwrap();
    let mut again = Sse::new(app.open_stream(Some(&t), "", Some(last)).await);
    for _ in 2..6 {
        let e = next_credits(&mut again).await;
        assert_eq!(e.data["data"]["talent_id"], t.id.to_string());
        seen.push(e.id.unwrap());
    }
    assert_eq!(seen, all, "every event of t's, once each, in order");
    // And it follows on live from there.
    grant(&app, &manager, t.id, 7).await;
    let live = next_credits(&mut again).await;
    assert_eq!(live.data["data"]["amount"], 7);
    assert!(live.id.unwrap() > last);
    app.stop().await;
}

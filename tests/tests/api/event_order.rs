//! The events' one order: every committed event gets exactly one position,
//! 1, 2, 3… without gaps, and a reader going forward by position never
//! passes an event whose transaction committed after a later one's.

use std::collections::BTreeSet;

use kartel_domain::events::{self, Event, EventKind, ProfileUpdated};
use sea_orm::{DbBackend, TransactionTrait};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, Loop, TestApp};

fn profile() -> Event {
    Event::ProfileUpdated(ProfileUpdated {
        profile_complete: true,
    })
}

both_backends! {
    async fn every_committed_event_gets_one_place_in_order(app: &TestApp) {
        let before = events::head(&app.db).await.unwrap();
        let writers = (0..8).map(|_| {
            let db = app.db.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    events::write_row_for_tests(&db, Uuid::new_v4(), &profile()).await.unwrap();
                }
            })
        });
        for w in writers.collect::<Vec<_>>() {
            w.await.unwrap();
        }
        let total = before + 200;
        app.until_rounds(Loop::Events, total as u64).await;
        let all = events::after(&app.db, 0, &[], 10_000).await.unwrap();
        let positions: Vec<i64> = all.iter().map(|e| e.position).collect();
        assert_eq!(positions, (1..=total).collect::<Vec<_>>(), "one place each, no gap");
        let ids: BTreeSet<Uuid> = all.iter().map(|e| e.stored.id).collect();
        assert_eq!(ids.len(), all.len());
        // Reading on from a position, in pages, gives the same sequence.
        let mut paged = Vec::new();
        let mut at = 0;
        loop {
            let page = events::after(&app.db, at, &[], 37).await.unwrap();
            let Some(last) = page.last() else { break };
            at = last.position;
            paged.extend(page.into_iter().map(|e| e.stored.id));
        }
        assert_eq!(paged, all.iter().map(|e| e.stored.id).collect::<Vec<_>>());
        // A kind filter keeps the order and leaves the others out.
        let none = events::after(&app.db, 0, &[EventKind::TierChanged], 100).await.unwrap();
        assert!(none.iter().all(|e| e.stored.event.kind() == EventKind::TierChanged));
        let profiles = events::after(&app.db, before, &[EventKind::ProfileUpdated], 1000).await.unwrap();
        assert_eq!(profiles.len(), 200);
    }

    async fn an_event_that_commits_late_comes_after_those_already_read(app: &TestApp) {
        if app.db.get_database_backend() != DbBackend::Postgres {
            // SQLite has one writer at a time: a transaction that wrote an
            // event holds every other writer back until it commits, so
            // commits happen in the order the rows were written.
            return;
        }
        let start = events::head(&app.db).await.unwrap();
        let (early, late) = (Uuid::new_v4(), Uuid::new_v4());
        let tx = app.db.begin().await.unwrap();
        events::write_row_for_tests(&tx, early, &profile()).await.unwrap();
        events::write_row_for_tests(&app.db, late, &profile()).await.unwrap();
        app.until_rounds(Loop::Events, (start + 1) as u64).await;
        let first = events::after(&app.db, start, &[], 10).await.unwrap();
        assert_eq!(first.len(), 1, "only the committed event has a place");
        assert_eq!(first[0].stored.subject_id, late);
        tx.commit().await.unwrap();
        app.until_rounds(Loop::Events, (start + 2) as u64).await;
        let next = events::after(&app.db, first[0].position, &[], 10).await.unwrap();
        assert_eq!(next.len(), 1, "the reader at the late event's place still gets the early one");
        assert_eq!(next[0].stored.subject_id, early);
        assert_eq!(next[0].position, start + 2);
        #[derive(sea_orm::FromQueryResult)]
        struct Count {
            n: i64,
        }
        let row: Count = app
            .query_sql("SELECT COUNT(*) AS n FROM events WHERE position IS NULL", [])
            .await
            .unwrap();
        assert_eq!(row.n, 0);
    }
}

//! Raw SQL against an app's database, for the tests that arrange a state no
//! endpoint makes (a corrupted ledger, an aged token, a tier) or look at one
//! no endpoint shows without side effects. Values bind as sea-orm values, so
//! ids are stored as each backend stores them (blobs on SQLite); placeholders
//! are `$1`, `$2`, … on both backends.

use sea_orm::{FromQueryResult, Value};
use uuid::Uuid;

use super::TestApp;

impl TestApp {
    /// Runs `sql` with `values`; returns the number of rows it changed.
    pub async fn exec_sql(&self, sql: &str, values: impl IntoIterator<Item = Value>) -> u64 {
        kartel_domain::db::execute(&self.db, sql, values)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first row of `sql`, decoded into `T`.
    pub async fn query_sql<T: FromQueryResult>(
        &self,
        sql: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> Option<T> {
        kartel_domain::db::fetch_one(&self.db, sql, values)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The tables with a row whose text holds `needle` anywhere (every
    /// column, as text): for "no table keeps this secret".
    pub async fn tables_containing(&self, needle: &str) -> Vec<String> {
        #[derive(FromQueryResult)]
        struct Name {
            name: String,
        }
        let all = |sql: &'static str| async move {
            kartel_domain::db::fetch_all::<Name, _>(&self.db, sql, [])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        };
        let pattern = format!("%{needle}%");
        let mut found = Vec::new();
        if self.settings.is_sqlite() {
            for t in all("SELECT name FROM sqlite_master WHERE type = 'table'").await {
                let columns: Vec<Name> = kartel_domain::db::fetch_all(
                    &self.db,
                    "SELECT name FROM pragma_table_info($1)",
                    [t.name.clone().into()],
                )
                .await
                .expect("columns");
                let holds: Vec<String> = columns
                    .iter()
                    .map(|c| format!("CAST(\"{}\" AS TEXT) LIKE $1", c.name))
                    .collect();
                let sql = format!(
                    "SELECT 1 FROM \"{}\" WHERE {} LIMIT 1",
                    t.name,
                    holds.join(" OR ")
                );
                if kartel_domain::db::exists(&self.db, &sql, [pattern.clone().into()])
                    .await
                    .expect("scan")
                {
                    found.push(t.name);
                }
            }
        } else {
            let tables = all("SELECT table_name AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
            .await;
            for t in tables {
                let sql = format!(
                    "SELECT 1 FROM \"{}\" AS x WHERE CAST(x AS TEXT) LIKE $1 LIMIT 1",
                    t.name
                );
                if kartel_domain::db::exists(&self.db, &sql, [pattern.clone().into()])
                    .await
                    .expect("scan")
                {
                    found.push(t.name);
                }
            }
        }
        found
    }

    /// Enrols a talent in a track at a tier (the tiers capability has no
    /// endpoint yet): a `talent_tracks` row.
    pub async fn enrol(&self, talent: Uuid, track: &str, tier: i16) {
        let now = chrono::Utc::now();
        self.exec_sql(
            "INSERT INTO talent_tracks (talent_id, track, tier, enrolled_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
            [
                talent.into(),
                track.into(),
                tier.into(),
                now.into(),
                now.into(),
            ],
        )
        .await;
    }
}

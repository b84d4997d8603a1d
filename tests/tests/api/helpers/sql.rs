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

    /// The tables (with a count of rows) in which `needle` appears anywhere,
    /// in any column, whatever the case: for "no table keeps this".
    pub async fn tables_mentioning(&self, needle: &str) -> Vec<String> {
        #[derive(FromQueryResult)]
        struct Name {
            name: String,
        }
        #[derive(FromQueryResult)]
        struct Count {
            n: i64,
        }
        let pattern = format!("%{}%", needle.to_lowercase());
        let postgres = !self.settings.is_sqlite();
        let tables: Vec<Name> = kartel_domain::db::fetch_all(
            &self.db,
            if postgres {
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
            } else {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            },
            [],
        )
        .await
        .expect("tables");
        let mut found = Vec::new();
        for t in tables {
            let sql = if postgres {
                format!(
                    "SELECT COUNT(*) AS n FROM \"{0}\" t WHERE LOWER(t::text) LIKE $1",
                    t.name
                )
            } else {
                let cols: Vec<Name> = kartel_domain::db::fetch_all(
                    &self.db,
                    &format!("SELECT name FROM pragma_table_info('{}')", t.name),
                    [],
                )
                .await
                .expect("columns");
                let any = cols
                    .iter()
                    .map(|c| format!("LOWER(CAST(\"{}\" AS TEXT)) LIKE $1", c.name))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                format!("SELECT COUNT(*) AS n FROM \"{}\" WHERE {any}", t.name)
            };
            let n: Count = self
                .query_sql(&sql, [pattern.clone().into()])
                .await
                .expect("count");
            if n.n > 0 {
                found.push(format!("{} ({})", t.name, n.n));
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

    /// A valid certificate of `talent` in `track` (the row only: no
    /// signature, no cited work), for the tests that set Tier 4 directly
    /// and need it to be nominated. Its id.
    pub async fn give_certificate(&self, talent: Uuid, track: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.exec_sql(
            "INSERT INTO certificates (id, talent_id, track, tier, status, playbook_version, certified_by, \
             submission_id, review_id, kid, credential, issued_at) \
             VALUES ($1, $2, $3, 4, 'valid', '1.0', $2, $4, $5, 'test', 'test', $6)",
            [
                id.into(),
                talent.into(),
                track.into(),
                Uuid::now_v7().into(),
                Uuid::now_v7().into(),
                chrono::Utc::now().into(),
            ],
        )
        .await;
        id
    }

    /// Tier 4 in `track` with a valid certificate, both set directly.
    pub async fn enrol_certified(&self, talent: Uuid, track: &str) {
        self.enrol(talent, track, 4).await;
        self.give_certificate(talent, track).await;
    }
}

//! The references run in the same round: pgbench's built-in workloads on a
//! database of their own (`kartel_tests::pgbench`), and a replay of the service's own one-statement
//! spend (`domain/src/ledger/sql/spend.sql`) on the bench's tables.

use std::path::Path;

use anyhow::{Context, bail};
use kartel_domain::ledger::{CreditTransaction, MAX_BALANCE, TransactionKind, system};
pub use kartel_tests::pgbench::builtin;
use kartel_tests::pgbench::run_pgbench;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// The statement a spend runs on PostgreSQL, byte for byte.
const SPEND_SQL: &str = include_str!("../../../../domain/src/ledger/sql/spend.sql");

/// The purpose of the replay's spends, so that they can be counted.
const REPLAY_MEMO: &str = "loadbench replay";

/// A time-ordered UUID (milliseconds first, as `Uuid::now_v7` gives the
/// service's transaction ids), so the replay's primary keys land where the
/// service's do.
const TIME_ORDERED_ID: &str = "encode(overlay(uuid_send(gen_random_uuid()) PLACING \
    substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) \
    FROM 1 FOR 6), 'hex')::uuid";

/// Runs the replay script at `script` on the bench's own database (`url`,
/// the app's) with prepared statements, as the service's driver uses them;
/// returns its TPS after checking that every transaction pgbench counted
/// wrote its spend (a statement whose guard refused writes nothing).
pub async fn replay(
    db: &DatabaseConnection,
    url: &str,
    script: &Path,
    label: &'static str,
    clients: usize,
    duration: u64,
) -> anyhow::Result<f64> {
    let before = replayed(db).await?;
    let (url, script) = (url.to_owned(), script.to_owned());
    let (tps, processed) = tokio::task::spawn_blocking(move || {
        let script = script.to_string_lossy();
        let args = ["-M", "prepared", "-f", script.as_ref()];
        run_pgbench(&url, &args, clients, duration, &format!("pgbench {label}"))
    })
    .await??;
    let written = replayed(db).await? - before;
    if Some(written) != processed {
        bail!(
            "the replay wrote {written} spends, pgbench counted {}: its figure is not a spend rate",
            processed.map_or("none".into(), |n| n.to_string())
        );
    }
    Ok(tps)
}

/// How many spends the replays wrote so far.
async fn replayed(db: &DatabaseConnection) -> anyhow::Result<i64> {
    #[derive(sea_orm::FromQueryResult)]
    struct Count {
        n: i64,
    }
    let sql = format!("SELECT COUNT(*) AS n FROM ledger_transactions WHERE memo = '{REPLAY_MEMO}'");
    Ok(kartel_domain::db::fetch_one::<Count, _>(db, &sql, [])
        .await?
        .context("no count")?
        .n)
}

/// A pgbench script that runs `sql/spend.sql` as a signed-in talent's spend
/// of 1 credit runs it: a random talent out of `talents` (picked from an
/// array constant in the statement), a fresh time-ordered transaction id and
/// a fresh idempotency key each time, the stored response a
/// `CreditTransaction` of the service's shape.
pub fn replay_script(talents: &[Uuid]) -> anyhow::Result<String> {
    let ids: Vec<String> = talents.iter().map(Uuid::to_string).collect();
    let talent = format!("('{{{}}}'::uuid[])[:t]", ids.join(","));
    let sample = CreditTransaction {
        id: Uuid::now_v7(),
        kind: TransactionKind::Spend,
        talent_id: talents.first().copied().unwrap_or_default(),
        amount: -1,
        memo: REPLAY_MEMO.into(),
        reference: None,
        reverses_id: None,
        hold_id: None,
        balance_after: 0,
        created_at: chrono::Utc::now(),
    };
    let response = serde_json::to_string_pretty(&sample)?;
    let param = |n: usize| -> Option<String> {
        Some(match n {
            1 => "CAST(-1 AS bigint)".into(),
            2 | 8 => talent.clone(),
            3 => format!("CAST({MAX_BALANCE} AS bigint)"),
            4 => TIME_ORDERED_ID.into(),
            5 => "CAST(1 AS bigint)".into(),
            6 => format!("'{REPLAY_MEMO}'"),
            7 => "'user'".into(),
            9 => "now()".into(),
            10 => format!("'{}'::uuid", system::GENERATION),
            11 => format!("'user:' || {talent}"),
            12 => "gen_random_uuid()::text".into(),
            // A SHA-256 in hex, as the service's fingerprint.
            13 => format!("'{}'", "5e".repeat(32)),
            14 => format!("'{}'::jsonb", pgbench_safe(&response).replace('\'', "''")),
            _ => return None,
        })
    };
    let mut sql = String::new();
    let statement: String = SPEND_SQL
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = statement.as_str();
    while let Some(at) = rest.find('$') {
        sql.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let n: usize = rest[at + 1..at + 1 + digits]
            .parse()
            .with_context(|| format!("a lone $ in spend.sql: {}", &rest[at..]))?;
        let value =
            param(n).with_context(|| format!("spend.sql has ${n}: the replay misses it"))?;
        sql.push_str(&format!("({value})"));
        rest = &rest[at + 1 + digits..];
    }
    sql.push_str(rest);
    check_variables(&sql)?;
    Ok(format!(
        "\\set t random(1, {})\n{};\n",
        talents.len(),
        sql.trim_end()
    ))
}

/// pgbench takes `:name` anywhere in a statement, quoted or not, for a
/// variable: a colon in a JSON string becomes `\u003a` (the same character
/// to PostgreSQL); the pretty form's `": "` separators are no variables.
fn pgbench_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        let names_a_variable = chars
            .peek()
            .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_');
        if c == ':' && names_a_variable {
            out.push_str("\\u003a");
        } else {
            out.push(c);
        }
    }
    out
}

/// The only pgbench variable of the statement is `:t`.
fn check_variables(sql: &str) -> anyhow::Result<()> {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b':' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b':') {
            i += 2;
            continue;
        }
        let name: String = sql[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && name != "t" {
            bail!("the replay statement would give pgbench a variable :{name}");
        }
        i += 1 + name.len();
    }
    Ok(())
}

//! Connecting to PostgreSQL or SQLite, and small helpers for hand-written SQL
//! (`$1`-style placeholders work on both backends).

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, FromQueryResult,
    RuntimeErr, Statement, Value,
};

/// Opens a pool. SQLite gets WAL, a busy timeout and foreign keys, so that
/// concurrent writers wait for each other instead of failing.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // Pinging every checkout would add a round trip to each request; only
        // connections idle long enough to have been dropped are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        opts.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    }
    Database::connect(opts).await
}

pub fn stmt<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// Whether the query returns a row (its columns are not read).
pub async fn exists<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<bool, DbErr> {
    Ok(db.query_one_raw(stmt(db, sql, values)).await?.is_some())
}

pub async fn execute<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<u64, DbErr> {
    Ok(db.execute_raw(stmt(db, sql, values)).await?.rows_affected())
}

/// Runs a hand-written query and decodes each row into `T`.
pub async fn fetch_all<T: FromQueryResult, C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<Vec<T>, DbErr> {
    T::find_by_statement(stmt(db, sql, values)).all(db).await
}

/// Runs a hand-written query and decodes its first row into `T`.
pub async fn fetch_one<T: FromQueryResult, C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<Option<T>, DbErr> {
    T::find_by_statement(stmt(db, sql, values)).one(db).await
}

/// The unique constraint (or unique index) that `err` violated, by name.
/// PostgreSQL names it; SQLite does not, so on SQLite this is always `None`
/// and callers there use `ON CONFLICT` instead.
pub fn violated_unique_constraint(err: &DbErr) -> Option<&str> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    let db_err = e.as_database_error()?;
    if db_err.kind() != sea_orm::sqlx::error::ErrorKind::UniqueViolation {
        return None;
    }
    db_err.constraint()
}

/// The database could not serve the request now (no free connection, the
/// connection dropped, the server shutting down or restarting), as opposed
/// to a bug: the request may be retried.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let transient = |r: &RuntimeErr| match r {
        RuntimeErr::SqlxError(e) => match &**e {
            Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
            // Class 08: connection exception; 57P0x: the server is shutting
            // down or restarting; 40001/40P01: a serialization failure or a
            // deadlock, rolled back whole (a retry runs again).
            Sqlx::Database(d) => d.code().is_some_and(|c| {
                c.starts_with("08") || c.starts_with("57P0") || c == "40001" || c == "40P01"
            }),
            _ => false,
        },
        _ => false,
    };
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => transient(r),
        _ => false,
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`), so it waits its turn instead of failing later.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Builds SQL with `$n` placeholders and their values, for queries whose
/// filters depend on the request.
#[derive(Default)]
pub struct SqlBuilder {
    pub sql: String,
    pub values: Vec<Value>,
}

impl SqlBuilder {
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            values: Vec::new(),
        }
    }
    /// Adds a value and returns its placeholder.
    pub fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }
}

/// A `LIKE` pattern matching `s` anywhere, with `%`, `_` and `\` taken literally
/// (use with `ESCAPE '\'`).
pub fn contains_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

//! What the `kartel` subcommands do, apart from parsing arguments.

use std::io::{self, Read, Write};

use kartel_domain::DomainError;
use kartel_domain::accounts::{self, Account};
use kartel_migrations::{Migrator, MigratorTrait};
use serde::Serialize;

use crate::configuration::Settings;
use crate::startup;

/// `kartel admin create`: the password is read from `password` (standard
/// input), up to the first line break.
pub async fn create_admin(
    settings: &Settings,
    email: &str,
    handle: Option<String>,
    name: &str,
    mut password: impl Read,
) -> anyhow::Result<Account> {
    let mut raw = String::new();
    password.read_to_string(&mut raw)?;
    let pw = raw.lines().next().unwrap_or_default();
    let handle = match handle {
        Some(h) => h,
        None => {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("{e}"))?;
            format!("admin_{}", u32::from_le_bytes(b) % 1_000_000)
        }
    };
    let db = startup::connect_database(settings).await?;
    Migrator::up(&db, None).await?;
    let created = accounts::create_admin(&db, email, pw, &handle, name).await;
    db.close().await?;
    created.map_err(|e| match e {
        DomainError::Validation(errs) => anyhow::anyhow!(
            "{}",
            errs.iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        e => anyhow::anyhow!("{e}"),
    })
}

/// `kartel openapi` and `kartel events-schema`: `document`, pretty-printed
/// in its own order of fields, and a line break. A reader that stops early
/// (`kartel openapi | head`) closes the pipe; that is not a failure, so a
/// broken pipe ends the printing quietly with `Ok`. Any other error of `out`
/// is returned.
pub fn write_document(mut out: impl Write, document: &impl Serialize) -> io::Result<()> {
    let written = serde_json::to_writer_pretty(&mut out, document)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

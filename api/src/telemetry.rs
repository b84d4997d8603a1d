//! Structured logs: `RUST_LOG` filters, `KARTEL_LOG_FORMAT=json` for machines.
//! Text logs are coloured only on a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub fn init(format: &str) {
    init_with(format, std::io::stdout, std::io::stdout().is_terminal());
}

/// The service's logging as `init` sets it up, written to `writer` (the
/// load benchmark discards what it writes, to measure its cost).
pub fn init_with<W>(format: &str, writer: W, ansi: bool)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer)
        .with_ansi(ansi);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

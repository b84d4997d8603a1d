//! `kartel`: serve the API, apply migrations, create admins, print the OpenAPI
//! document and the events' schemas.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kartel_api::cli;
use kartel_api::configuration::Settings;
use kartel_api::startup::{self, Application};
use kartel_api::telemetry;
use kartel_migrations::{Migrator, MigratorTrait};

/// mimalloc returns the memory of large blocks: with glibc's malloc every
/// password hash (a 19 MiB argon2 block) raised the dynamic mmap threshold
/// and stayed in the heap — 19 MiB more resident per sign-in until a login
/// storm took hundreds of MiB (docs/benchmarks.md, "Memory under a sign-in
/// burst").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kartel",
    version,
    about = "The Kartel Community Platform backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending migrations, or show their status.
    Migrate {
        /// Only print which migrations are applied and which are pending.
        #[arg(long)]
        status: bool,
    },
    /// Administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print the event kinds and their payload schemas (what events out
    /// publishes; committed as openapi/events.json).
    EventsSchema,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        /// Defaults to `admin_` and a random suffix.
        #[arg(long)]
        handle: Option<String>,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The two documents need no settings: print and stop (quietly when the
    // reader closes the pipe first, as `kartel openapi | head` does). The
    // OpenAPI document is printed as utoipa orders it (`openapi`, `info`,
    // `paths`…), as committed.
    let out = || std::io::BufWriter::new(std::io::stdout().lock());
    let printed = match cli.command {
        Some(Command::Openapi) => Some(cli::write_document(out(), &startup::openapi_doc())),
        Some(Command::EventsSchema) => Some(cli::write_document(
            out(),
            &kartel_domain::events::schema_document(),
        )),
        _ => None,
    };
    if let Some(printed) = printed {
        return match printed {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kartel: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kartel: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate { status } => migrate(settings, status).await,
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    handle,
                    name,
                },
        } => create_admin(settings, email, handle, name).await,
        Command::Openapi | Command::EventsSchema => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kartel: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let addr = settings.addr;
    let app = Application::build(settings).await?;
    tracing::info!(%addr, port = app.port(), "serving; docs at /docs");
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(settings: Settings, status: bool) -> anyhow::Result<()> {
    let db = startup::connect_database(&settings).await?;
    if status {
        for m in Migrator::get_migration_with_status(&db).await? {
            println!("{}\t{:?}", m.name(), m.status());
        }
        return Ok(());
    }
    Migrator::up(&db, None).await?;
    println!("migrations applied");
    Ok(())
}

async fn create_admin(
    settings: Settings,
    email: String,
    handle: Option<String>,
    name: String,
) -> anyhow::Result<()> {
    let account =
        cli::create_admin(&settings, &email, handle, &name, std::io::stdin().lock()).await?;
    println!(
        "created admin {} ({}) with id {}",
        account.email, account.handle, account.id
    );
    Ok(())
}

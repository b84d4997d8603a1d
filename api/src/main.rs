//! `kartel`: serve the API, apply migrations, create admins, print the OpenAPI document.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kartel_api::configuration::Settings;
use kartel_api::startup::{self, Application};
use kartel_api::telemetry;
use kartel_migrations::{Migrator, MigratorTrait};

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
    if let Some(Command::Openapi) = cli.command {
        match serde_json::to_string_pretty(&startup::openapi_doc()) {
            Ok(s) => {
                println!("{s}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("kartel: {e}");
                return ExitCode::FAILURE;
            }
        }
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
        Command::Openapi => Ok(()),
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
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    let handle = match handle {
        Some(h) => h,
        None => {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("{e}"))?;
            format!("admin_{}", u32::from_le_bytes(b) % 1_000_000)
        }
    };
    let db = startup::connect_database(&settings).await?;
    Migrator::up(&db, None).await?;
    let account = kartel_domain::accounts::create_admin(&db, &email, &password, &handle, &name)
        .await
        .map_err(|e| match e {
            kartel_domain::DomainError::Validation(errs) => anyhow::anyhow!(
                "{}",
                errs.iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            e => anyhow::anyhow!(e),
        })?;
    println!(
        "created admin {} ({}) with id {}",
        account.email, account.handle, account.id
    );
    Ok(())
}

//! The `podium` command: serves the API (the default), applies migrations, or prints the
//! OpenAPI document.

use anyhow::Context;
use clap::{Parser, Subcommand};
use podium::db::{DatabaseUrl, Pool};
use podium::settings::Settings;
use podium::startup::Application;

#[derive(Parser)]
#[command(
    name = "podium",
    version,
    about = "REST API for B2B sales challenges and incentives"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply the pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document as JSON.
    Openapi,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("invalid settings")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            println!("{}", podium::api::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Migrate => {
            podium::telemetry::init(&settings.log_level, &settings.log_format);
            let url = DatabaseUrl::parse(&settings.database_url);
            let pool = Pool::connect(
                &url,
                1,
                std::time::Duration::from_secs(settings.db_timeout_seconds),
            )?;
            let applied = pool.get()?.run_migrations()?;
            println!("applied {} migration(s)", applied.len());
            for name in applied {
                println!("  {name}");
            }
            Ok(())
        }
        Command::Serve => {
            podium::telemetry::init(&settings.log_level, &settings.log_format);
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings)?;
                app.run_until_stopped().await?;
                Ok(())
            })
        }
    }
}

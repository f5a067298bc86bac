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
    /// Load a small demo data set (regions, reps, a distributor, sales, two running
    /// challenges) into an empty database.
    Demo,
    /// Make a large data set for the benchmarks: participants and a running challenge in
    /// the database, sale lines as JSON batch files to send to the API.
    Generate {
        /// Participants to create.
        #[arg(long, default_value_t = 100_000)]
        participants: usize,
        /// Sale lines to write.
        #[arg(long, default_value_t = 1_000_000)]
        sales: usize,
        /// Lines per batch file (at most 10,000).
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// Folder for the batch files.
        #[arg(long, default_value = "bench-data")]
        out: std::path::PathBuf,
    },
    /// Work with rule scripts on disk.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Run every `*.rhai` in DIR against the cases of the `*.test.json` beside it; exits
    /// non-zero when a case fails.
    Test {
        /// The folder holding the rules and their fixtures.
        dir: std::path::PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("invalid settings")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            // `podium openapi | head` closes the pipe early: that is not an error.
            podium::api::contract::print(&podium::api::openapi(), &mut std::io::stdout().lock())?;
            Ok(())
        }
        Command::Demo => {
            podium::telemetry::init(&settings.log_level, &settings.log_format);
            let pool = podium::startup::prepare_database(&settings)?;
            let summary =
                podium::demo::load_demo(&mut *pool.get()?).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Loaded the demo: {} sale lines.", summary.sales);
            for name in summary.challenges {
                println!("  running challenge: {name}");
            }
            println!("People (password {:?}):", podium::demo::DEMO_PASSWORD);
            for (email, role) in summary.people {
                println!("  {email} ({role})");
            }
            Ok(())
        }
        Command::Generate {
            participants,
            sales,
            batch,
            out,
        } => {
            podium::telemetry::init(&settings.log_level, &settings.log_format);
            anyhow::ensure!((1..=10_000).contains(&batch), "--batch must be 1 to 10,000");
            let pool = podium::startup::prepare_database(&settings)?;
            let made = podium::demo::generate(&mut *pool.get()?, participants, sales, batch, &out)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{} participants in the database; {} sale lines in {} files under {}; challenge {}",
                made.participants,
                made.sales,
                made.files,
                out.display(),
                made.challenge_id
            );
            Ok(())
        }
        Command::Rules {
            command: RulesCommand::Test { dir },
        } => {
            let runner = podium::rules::RuleRunner::new(settings.rule_limits(), 1);
            let report = podium::rules::fixtures::run_dir(&runner, &dir, &mut std::io::stdout())
                .with_context(|| format!("cannot read {}", dir.display()))?;
            if report.ok() {
                Ok(())
            } else {
                std::process::exit(1)
            }
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

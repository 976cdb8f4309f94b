//! `nightshift`: the operator's command. Every subcommand goes through the same
//! core as the deployed routes; none has a private path to the database.

mod auth;
mod backup;
#[cfg(feature = "bench")]
mod bench;
mod check;
#[cfg(all(test, not(feature = "bench")))]
mod cli_reference;
mod completions;
mod dburl;
mod deploy;
mod listing;
mod ops;
mod outbox;
mod people;
mod project;
mod run;
mod run_show;
mod seed;
mod status;
mod trigger;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use nightshift_core::db::MIGRATOR;

#[derive(Parser)]
#[command(
    name = "nightshift",
    version,
    about = "Nightshift turns a team's GitHub issues into tracked bugs with deadlines, escalates the late ones and e-mails each person one digest, from three cron jobs that run on Vercel or AWS Lambda against your Postgres."
)]
struct Cli {
    /// The Postgres database (every command but `trigger` and `completions` uses it;
    /// `serve` and `run` read the rest of their settings from the environment too,
    /// see docs/reference/configuration.md).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations to DATABASE_URL (or DATABASE_URL_DIRECT).
    #[command(
        after_help = "Example:\n  DATABASE_URL=postgres://localhost/nightshift nightshift migrate\n  DATABASE_URL_DIRECT=postgres://db.internal:5432/nightshift nightshift migrate"
    )]
    Migrate {
        /// The database's direct, non-pooled URL: migrations go there when
        /// DATABASE_URL passes through a transaction pooler (src/dburl.rs).
        #[arg(long, env = "DATABASE_URL_DIRECT", hide_env_values = true)]
        database_url_direct: Option<String>,
    },
    /// Serve every route and the status dashboard on one port, at the paths
    /// Vercel uses, and fire vercel.json's schedules, each in its time zone, like the platform.
    #[command(
        after_help = "Example:\n  nightshift serve --port 3000\n  curl -H \"Authorization: Bearer $CRON_SECRET\" localhost:3000/api/cron/hourly\n  open http://localhost:3000/api/status?format=html\n\nCtrl-C or SIGTERM: stops scheduling, lets running jobs finish within their budget, marks any still running failed (shutdown)."
    )]
    Serve {
        #[arg(long, default_value_t = 3000, env = "PORT")]
        port: u16,
        /// Address to bind; loopback unless you mean to expose it.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Do not fire vercel.json's schedules (serve calls only).
        #[arg(long)]
        no_scheduler: bool,
    },
    /// Run a route now, in this process, through the same handler as HTTP.
    #[command(
        after_help = "Example:\n  nightshift run hourly --tasks watch_jobs --force\n\nExit code 0 only when the run completed or the slot already had one."
    )]
    Run(run::RunArgs),
    /// Health, and per job: last and next run, success rate, durations, pause.
    #[command(after_help = "Example:\n  nightshift status\n  nightshift status --json --limit 10")]
    Status(status::StatusArgs),
    /// Recent runs from the ledger, newest first; `runs show ID`: one run, task by task.
    #[command(
        after_help = "Example:\n  nightshift runs --job hourly --limit 10\n  nightshift runs --json\n  nightshift runs show 123e4567-e89b-12d3-a456-426614174000"
    )]
    Runs(ops::RunsArgs),
    /// Pause a job: its route answers skipped_paused until resumed.
    #[command(after_help = "Example:\n  nightshift pause daily --reason \"GitHub migration\"")]
    Pause(ops::PauseArgs),
    /// Resume a paused job.
    #[command(after_help = "Example:\n  nightshift resume daily")]
    Resume(ops::PauseArgs),
    /// The notification outbox: list, retry a dead one, purge the dead.
    #[command(
        after_help = "Example:\n  nightshift outbox list --status dead\n  nightshift outbox retry 42\n  nightshift outbox purge-dead"
    )]
    Outbox(outbox::OutboxArgs),
    /// Alerts raised by the jobs, newest first.
    #[command(after_help = "Example:\n  nightshift alerts --open\n  nightshift alerts --json")]
    Alerts(ops::AlertsArgs),
    /// Call a deployed route over HTTP with CRON_SECRET, like curl.
    #[command(
        after_help = "Example:\n  CRON_SECRET=… nightshift trigger hourly --url https://your-app.vercel.app\n  nightshift trigger daily --url http://localhost:3000 --query force=true\n\nExit code 0 only for a 2xx answer."
    )]
    Trigger(trigger::TriggerArgs),
    /// Fill an empty database with a synthetic organisation: users, projects, bugs.
    #[command(
        after_help = "Example:\n  nightshift migrate && nightshift seed --projects 25 --bugs 2000 --seed 42\n  nightshift seed --projects 1000 --bugs 200000 --now 2026-11-24T12:00:00Z\n\nThe same --seed and --now give identical rows. Refuses a database that has projects."
    )]
    Seed(seed::SeedArgs),
    /// Benchmarks: hourly, invoke, daily, weekly, notify, metrics (see scripts/bench and BENCHMARKS.md).
    #[cfg(feature = "bench")]
    #[command(
        after_help = "Example:\n  DATABASE_URL=postgres://localhost/bench nightshift bench hourly --rounds 5\n\nscripts/bench prepares a scratch database for each part and calls this."
    )]
    Bench(bench::BenchArgs),
    /// Find what would stop a deployment from working, before the first cron fires.
    #[command(
        after_help = "Example:\n  nightshift check\n  CRON_SECRET=… nightshift check --url https://your-app.vercel.app\n\nExit code 1 when any problem is found; each is one line saying what to do."
    )]
    Check(check::CheckArgs),
    /// Deployment files generated from vercel.json: the AWS SAM template.
    #[command(
        after_help = "Example:\n  nightshift deploy aws-template --out deploy/aws/template.yaml\n\nSee docs/deploy/aws.md."
    )]
    Deploy(deploy::DeployArgs),
    /// Manage projects.
    #[command(
        after_help = "Example:\n  nightshift project add \"Payments API\" --github acme/payments-api --owner ana.silva.3@example.com"
    )]
    Project(project::ProjectArgs),
    /// People: import them from a CSV, list them, mute or unmute one.
    #[command(
        after_help = "Example:\n  nightshift people import people.csv --dry-run\n  nightshift people list --json\n  nightshift people mute ana.silva@example.com"
    )]
    People(people::PeopleArgs),
    /// Run the daily export now: every table a deployment needs, gzipped, with a manifest.
    #[command(
        after_help = "Example:\n  nightshift export\n  nightshift export --to s3://backups/nightshift --with-archive\n\nWrites into URL/YYYY-MM-DD/ (today, UTC), replacing an earlier export of the same day."
    )]
    Export(backup::ExportArgs),
    /// Restore an export into an empty, migrated database, in one transaction.
    #[command(
        after_help = "Example:\n  nightshift migrate && nightshift restore --from s3://backups/nightshift --dry-run\n  nightshift restore --from .data/exports --date 2026-11-24\n\nChecks every checksum and the schema version first; refuses a database holding data. Exit code 1 and nothing written on any problem."
    )]
    Restore(backup::RestoreArgs),
    /// Dashboard sessions and the back-off on wrong secrets.
    Auth(auth::AuthArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  nightshift completions bash > ~/.local/share/bash-completion/completions/nightshift\n  nightshift completions zsh > \"${fpath[1]}/_nightshift\"\n  nightshift completions fish > ~/.config/fish/completions/nightshift.fish"
    )]
    Completions(completions::CompletionsArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(url) = &cli.database_url {
        // SAFETY: no other thread exists yet (the runtime is built below), so nothing
        // reads the environment concurrently. `--database-url` must reach the same
        // readers as the variable: this file's `connect` and the routes' Config.
        unsafe { std::env::set_var("DATABASE_URL", url) };
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(dispatch(cli.command))
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    nightshift_http::init_tracing();
    match command {
        Command::Migrate {
            database_url_direct,
        } => migrate(database_url_direct.as_deref()).await,
        Command::Serve {
            port,
            host,
            no_scheduler,
        } => serve(SocketAddr::new(host, port), !no_scheduler).await,
        Command::Run(args) => {
            let code = run::run(args).await?;
            std::process::exit(code);
        }
        Command::Status(args) => status::status(args).await,
        Command::Runs(args) => ops::runs(args).await,
        Command::Pause(args) => ops::pause_or_resume(args, false).await,
        Command::Resume(args) => ops::pause_or_resume(args, true).await,
        Command::Outbox(args) => outbox::outbox(args).await,
        Command::Alerts(args) => ops::alerts(args).await,
        Command::Trigger(args) => {
            let code = trigger::trigger(args).await?;
            std::process::exit(code);
        }
        Command::Seed(args) => seed::seed(args).await,
        Command::Project(args) => project::project(args).await,
        Command::Deploy(args) => deploy::deploy(args),
        Command::People(args) => people::people(args).await,
        Command::Export(args) => backup::export(args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::Auth(args) => auth::auth(args).await,
        #[cfg(feature = "bench")]
        Command::Bench(args) => bench::bench(args).await,
        Command::Completions(args) => {
            completions::print::<Cli>(args);
            Ok(())
        }
        Command::Check(args) => {
            let code = check::check(args).await?;
            std::process::exit(code);
        }
    }
}

pub(crate) async fn connect() -> anyhow::Result<sqlx::PgPool> {
    dburl::connect().await
}

/// The app's pool, connected and migrated-checked.
pub(crate) async fn pool_of(app: &nightshift_core::App) -> anyhow::Result<sqlx::PgPool> {
    Ok(app
        .db
        .ready()
        .await
        .map_err(|e| anyhow::anyhow!(e.detail()))?
        .clone())
}

async fn migrate(direct: Option<&str>) -> anyhow::Result<()> {
    let pool = dburl::migration_pool(direct).await?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    let applied = MIGRATOR.iter().count();
    println!("migrations up to date ({applied} known to this binary)");
    Ok(())
}

async fn serve(addr: SocketAddr, schedule: bool) -> anyhow::Result<()> {
    let (app, env) = nightshift_http::app_from_env().map_err(anyhow::Error::msg)?;
    if app.cfg.cron_secret.is_none() {
        tracing::warn!("CRON_SECRET is not set: every route will answer 500 until it is");
    }
    let opts = nightshift_http::ServeOptions {
        schedule,
        ..Default::default()
    };
    nightshift_http::serve_local(Arc::new(app), env, addr, opts)
        .await
        .with_context(|| format!("serving on {addr}"))
}

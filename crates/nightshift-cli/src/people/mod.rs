//! `nightshift people`: the people the tasks notify. The GitHub sync knows
//! them by login; `import` adds e-mails, teams, managers and time zones from
//! a CSV; `list` shows them; `mute`/`unmute` switch a person's notifications.

mod import;
mod list;
mod merge;
mod rows;

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct PeopleArgs {
    #[command(subcommand)]
    command: PeopleCommand,
}

#[derive(Subcommand)]
enum PeopleCommand {
    /// Create or update people from a CSV file, all or nothing.
    #[command(
        after_help = "Example:\n  nightshift people import people.csv --dry-run\n  nightshift people import people.csv\n\nHeader (any order, other columns ignored):\n  email,name,github_login,manager_email,team,role,timezone\nEach row needs an email or a github_login; empty cells keep what the person has.\nExit code 1 on any bad row (each is listed as line, column, reason); nothing is written then."
    )]
    Import(import::ImportArgs),
    /// Everyone, with team, manager, open bugs, workload and whether they can be reached.
    #[command(after_help = "Example:\n  nightshift people list\n  nightshift people list --json")]
    List(list::ListArgs),
    /// Stop notifying a person (left, on leave).
    #[command(
        after_help = "Example:\n  nightshift people mute ana.silva@example.com\n  nightshift people mute octocat   # a GitHub login"
    )]
    Mute(WhoArgs),
    /// Notify a muted person again.
    #[command(after_help = "Example:\n  nightshift people unmute ana.silva@example.com")]
    Unmute(WhoArgs),
}

#[derive(Args)]
struct WhoArgs {
    /// The person's e-mail, or their GitHub login (anything without an `@`).
    who: String,
}

pub async fn people(args: PeopleArgs) -> anyhow::Result<()> {
    match args.command {
        PeopleCommand::Import(a) => import::import(a).await,
        PeopleCommand::List(a) => list::list(a).await,
        PeopleCommand::Mute(a) => set_notify(&a.who, false).await,
        PeopleCommand::Unmute(a) => set_notify(&a.who, true).await,
    }
}

/// Idempotent, and says so: "(already)" when nothing changed.
async fn set_notify(who: &str, notify: bool) -> anyhow::Result<()> {
    let who = who.trim();
    let (key, what) = if who.contains('@') {
        ("email", "e-mail")
    } else {
        ("login", "GitHub login")
    };
    let pool = crate::connect().await?;
    let found = sqlx::query!(
        r#"UPDATE users u SET notify = $3
           FROM (SELECT id, notify AS was FROM users
                  WHERE CASE WHEN $2 = 'email' THEN lower(email) ELSE lower(github_login) END = lower($1)
                    FOR UPDATE) o
          WHERE u.id = o.id
         RETURNING u.name, o.was AS "was!""#,
        who,
        key,
        notify,
    )
    .fetch_optional(&pool)
    .await?
    .map(|r| (r.name, r.was));
    let Some((name, was)) = found else {
        anyhow::bail!("no person has the {what} {who:?} (see nightshift people list)");
    };
    let state = if notify { "unmuted" } else { "muted" };
    let already = if was == notify { " (already)" } else { "" };
    println!("{name} ({who}) {state}{already}");
    Ok(())
}

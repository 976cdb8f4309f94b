//! `nightshift project add`: registers a project whose bugs come from a
//! GitHub repository, with sync turned on.

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct ProjectArgs {
    #[command(subcommand)]
    command: ProjectCommand,
}

#[derive(Subcommand)]
enum ProjectCommand {
    /// Add a project synced from a GitHub repository.
    #[command(
        after_help = "Example:\n  nightshift project add \"Payments API\" --github acme/payments-api --owner ana.silva.3@example.com"
    )]
    Add(AddArgs),
}

#[derive(Args)]
struct AddArgs {
    /// The project's name, unique among projects.
    name: String,
    /// The repository its issues are synced from, as OWNER/REPO.
    #[arg(long, value_name = "OWNER/REPO", value_parser = parse_repo)]
    github: String,
    /// Email of the user who owns the project (must already exist).
    #[arg(long, value_name = "EMAIL")]
    owner: Option<String>,
}

/// The shape the `projects.github_repo` CHECK accepts, checked here first so
/// the user gets a sentence rather than a constraint name. "." and ".." are
/// not repositories GitHub allows.
fn parse_repo(s: &str) -> Result<String, String> {
    let valid_part = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    match s.split_once('/') {
        Some((owner, repo)) if valid_part(owner) && valid_part(repo) => Ok(s.to_owned()),
        _ => Err(format!(
            "\"{s}\" is not OWNER/REPO (two names of letters, digits, '-', '_' or '.', \
             separated by one '/'), e.g. acme/payments-api"
        )),
    }
}

pub async fn project(args: ProjectArgs) -> anyhow::Result<()> {
    match args.command {
        ProjectCommand::Add(add_args) => add(add_args).await,
    }
}

async fn add(args: AddArgs) -> anyhow::Result<()> {
    let name = args.name.trim();
    anyhow::ensure!(!name.is_empty(), "the project name is empty");
    let pool = crate::connect().await?;

    let owner_id: Option<i64> = match &args.owner {
        None => None,
        Some(email) => Some(
            sqlx::query_scalar!(
                "SELECT id FROM users WHERE lower(email) = lower($1) ORDER BY id LIMIT 1",
                email.trim(),
            )
            .fetch_optional(&pool)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no user has the email {email:?}"))?,
        ),
    };
    // Two projects syncing one repository would import every issue twice.
    let same_repo = sqlx::query!(
        "SELECT id, name FROM projects WHERE lower(github_repo) = lower($1) ORDER BY id LIMIT 1",
        args.github,
    )
    .fetch_optional(&pool)
    .await?
    .map(|r| (r.id, r.name));
    if let Some((id, other)) = same_repo {
        anyhow::bail!(
            "project {id} ({other:?}) already uses the repository {}",
            args.github
        );
    }

    // The unique index decides, not a SELECT first: two concurrent adds of
    // one name cannot both pass.
    let inserted = sqlx::query!(
        "INSERT INTO projects (name, owner_id, github_repo, sync_enabled) \
         VALUES ($1, $2, $3, true) RETURNING id, name",
        name,
        owner_id,
        args.github,
    )
    .fetch_one(&pool)
    .await
    .map(|r| (r.id, r.name));
    let (id, name) = match inserted {
        Ok(row) => row,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            anyhow::bail!("a project named {name:?} already exists")
        }
        Err(e) => return Err(anyhow::Error::new(e).context("inserting the project")),
    };
    println!(
        "added project {id} {name:?} (github {}, sync enabled)",
        args.github
    );
    Ok(())
}

//! `nightshift people import FILE.csv`: people by e-mail, then by login, in
//! one transaction. Every row is checked before anything is kept: one bad
//! row and nothing is imported, and the error lists every bad row found.
//!
//! Per row: the person with that e-mail, else the one with that login, is
//! updated (empty cells keep what they have); nobody, and a person is
//! created (engineer unless the row says otherwise; named after the login or
//! the e-mail's local part when the row has no name). When the e-mail is A's
//! and the login is B's, a person the GitHub sync created (no e-mail), B is
//! merged into A (`merge`). Managers are resolved after every row is in, so
//! a manager may come later in the file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use sqlx::PgConnection;

use super::merge::merge;
use super::rows::{self, Problem, Row};

/// At most this many bad rows are listed; the count says if there were more.
const SHOWN: usize = 20;

#[derive(Args)]
pub struct ImportArgs {
    /// CSV with a header: email,name,github_login,manager_email,team,role,timezone
    /// in any order; each row needs an email or a github_login.
    file: PathBuf,
    /// Say what each row would do, and write nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Action {
    Create,
    Update,
    Merge,
    Unchanged,
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Merge => "merge",
            Self::Unchanged => "unchanged",
        }
    }
}

struct Found {
    id: i64,
    email: Option<String>,
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let file = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {file}"))?;
    let (rows, mut problems) = rows::read(&text).with_context(|| file.clone())?;
    let pool = crate::connect().await?;
    let mut tx = pool.begin().await?;
    // The sync creates people too; holding it off for the import's few
    // statements means every login and e-mail checked here stays so.
    sqlx::query!("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;

    let mut done: Vec<(&Row, i64, Action)> = Vec::new();
    for row in &rows {
        match upsert(&mut tx, row).await? {
            Ok((id, action)) => done.push((row, id, action)),
            Err(p) => problems.push(p),
        }
    }
    for (row, id, action) in &mut done {
        let Some(manager) = &row.manager_email else {
            continue;
        };
        let found: Option<i64> = sqlx::query_scalar!(
            "SELECT id FROM users WHERE lower(email) = lower($1)",
            manager,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let reason = match found {
            None => format!("no person has the e-mail {manager}, in the file or the database"),
            Some(m) if m == *id => "a person cannot be their own manager".into(),
            Some(m) => {
                let set = sqlx::query!(
                    "UPDATE users SET manager_id = $2 WHERE id = $1 AND manager_id IS DISTINCT FROM $2",
                    *id,
                    m,
                )
                    .execute(&mut *tx)
                    .await?;
                if set.rows_affected() > 0 && *action == Action::Unchanged {
                    *action = Action::Update;
                }
                continue;
            }
        };
        problems.push(Problem {
            line: row.line,
            column: "manager_email",
            reason,
        });
    }

    if !problems.is_empty() {
        tx.rollback().await?;
        problems.sort_by_key(|p| p.line);
        let mut msg = format!(
            "{} bad row(s) in {file}; nothing was imported:",
            problems.len()
        );
        for p in problems.iter().take(SHOWN) {
            msg.push_str(&format!("\n  {p}"));
        }
        if problems.len() > SHOWN {
            msg.push_str(&format!("\n  … and {} more", problems.len() - SHOWN));
        }
        anyhow::bail!(msg);
    }
    let tally = |a: Action| done.iter().filter(|(_, _, x)| *x == a).count();
    let summary = format!(
        "{} created, {} updated, {} merged, {} unchanged",
        tally(Action::Create),
        tally(Action::Update),
        tally(Action::Merge),
        tally(Action::Unchanged)
    );
    if args.dry_run {
        for (row, _, action) in &done {
            let who = row.email.as_deref().or(row.login.as_deref()).unwrap_or("-");
            println!("line {}: {} {who}", row.line, action.word());
        }
        tx.rollback().await?;
        println!("dry run: {summary}; nothing was written");
    } else {
        tx.commit().await.context("committing the import")?;
        println!("{summary}");
    }
    Ok(())
}

/// One row into `users`. The inner `Err` is a bad row: the transaction is
/// still usable, since every check runs before the statement it guards.
async fn upsert(
    conn: &mut PgConnection,
    row: &Row,
) -> anyhow::Result<Result<(i64, Action), Problem>> {
    let by_email = match row.email.as_deref() {
        Some(email) => {
            sqlx::query_as!(
                Found,
                r#"SELECT id, email AS "email?" FROM users WHERE lower(email) = lower($1)"#,
                email,
            )
            .fetch_optional(&mut *conn)
            .await?
        }
        None => None,
    };
    let by_login =
        match row.login.as_deref() {
            Some(login) => sqlx::query_as!(
                Found,
                r#"SELECT id, email AS "email?" FROM users WHERE lower(github_login) = lower($1)"#,
                login,
            )
            .fetch_optional(&mut *conn)
            .await?,
            None => None,
        };
    let taken = |owner: &Found| Problem {
        line: row.line,
        column: "github_login",
        reason: format!(
            "{} belongs to another person, {}",
            row.login.as_deref().unwrap_or_default(),
            owner.email.as_deref().unwrap_or_default()
        ),
    };
    let (target, merged) = match (by_email, by_login) {
        (Some(a), Some(b)) if a.id != b.id => match b.email {
            Some(_) => return Ok(Err(taken(&b))),
            None => (Some(a.id), Some(b.id)),
        },
        (Some(a), _) => (Some(a.id), None),
        (None, Some(b)) if row.email.is_some() && b.email.is_some() => return Ok(Err(taken(&b))),
        (None, Some(b)) => (Some(b.id), None),
        (None, None) => (None, None),
    };
    let Some(id) = target else {
        let name = row
            .name
            .clone()
            .or_else(|| row.login.clone())
            .unwrap_or_else(|| {
                let email = row.email.as_deref().unwrap_or_default();
                email.split('@').next().unwrap_or(email).to_owned()
            });
        let id = sqlx::query_scalar!(
            "INSERT INTO users (name, email, github_login, role, team, timezone)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            name,
            row.email,
            row.login,
            row.role.unwrap_or("engineer"),
            row.team,
            row.timezone,
        )
        .fetch_one(&mut *conn)
        .await?;
        return Ok(Ok((id, Action::Create)));
    };
    if let Some(b) = merged {
        merge(conn, b, id).await?;
    }
    let changed = sqlx::query!(
        "UPDATE users SET name = COALESCE($2, name), email = COALESCE($3, email),
                          github_login = COALESCE($4, github_login), role = COALESCE($5, role),
                          team = COALESCE($6, team), timezone = COALESCE($7, timezone)
          WHERE id = $1
            AND (name, email, github_login, role, team, timezone) IS DISTINCT FROM
                (COALESCE($2, name), COALESCE($3, email), COALESCE($4, github_login),
                 COALESCE($5, role), COALESCE($6, team), COALESCE($7, timezone))",
        id,
        row.name,
        row.email,
        row.login,
        row.role,
        row.team,
        row.timezone,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    let action = match (merged, changed) {
        (Some(_), _) => Action::Merge,
        (None, true) => Action::Update,
        (None, false) => Action::Unchanged,
    };
    Ok(Ok((id, action)))
}

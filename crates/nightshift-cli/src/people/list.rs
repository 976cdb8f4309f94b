//! `nightshift people list`: who is known, how they are reached, and what
//! they carry (open bugs and the workload level the hourly task computes,
//! from the same SQL functions).

use clap::Args;
use serde::Serialize;

use crate::status::short;

#[derive(Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, sqlx::FromRow)]
struct Person {
    id: i64,
    name: String,
    email: Option<String>,
    github_login: Option<String>,
    role: String,
    team: Option<String>,
    timezone: Option<String>,
    /// The manager's name, or e-mail when the name is empty.
    manager: Option<String>,
    open_bugs: i64,
    workload: String,
    notify: bool,
    /// Whether anything can reach them: an e-mail address.
    has_address: bool,
}

pub async fn list(args: ListArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    let people: Vec<Person> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.github_login, u.role, u.team, u.timezone,
                COALESCE(NULLIF(m.name, ''), m.email) AS manager,
                count(b.id) AS open_bugs,
                workload_level(COALESCE(sum(bug_weight(b.severity, b.is_blocker)), 0)) AS workload,
                u.notify, u.email IS NOT NULL AS has_address
           FROM users u
           LEFT JOIN users m ON m.id = u.manager_id
           LEFT JOIN bugs b ON b.assignee_id = u.id AND b.status IN ('open', 'in_progress')
          GROUP BY u.id, m.id
          ORDER BY u.team NULLS LAST, lower(u.name), u.id",
    )
    .fetch_all(&pool)
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&people)?);
        return Ok(());
    }
    println!(
        "{:<24} {:<30} {:<20} {:<16} {:<20} {:>5} {:<8} {:<6} ADDRESS",
        "NAME", "EMAIL", "LOGIN", "TEAM", "MANAGER", "OPEN", "WORKLOAD", "NOTIFY"
    );
    let dash = |v: &Option<String>, n| short(v.as_deref().unwrap_or("-"), n);
    for p in &people {
        println!(
            "{:<24} {:<30} {:<20} {:<16} {:<20} {:>5} {:<8} {:<6} {}",
            short(&p.name, 24),
            dash(&p.email, 30),
            dash(&p.github_login, 20),
            dash(&p.team, 16),
            dash(&p.manager, 20),
            p.open_bugs,
            p.workload,
            if p.notify { "yes" } else { "muted" },
            if p.has_address { "yes" } else { "none" },
        );
    }
    if people.is_empty() {
        println!("(no people)");
    }
    Ok(())
}

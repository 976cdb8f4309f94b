//! `nightshift people list`: who is known, how they are reached, and what
//! they carry (open bugs and the workload level the hourly task computes,
//! from the same SQL functions).

use clap::Args;
use serde::Serialize;

use crate::listing::{self, Column, Listing, col, num};
use crate::status::short;

#[derive(Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
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
    // The "col!" names tell the macro what Postgres cannot infer through an
    // aggregate or a function: those columns are never NULL here.
    let people = sqlx::query_as!(
        Person,
        r#"SELECT u.id, u.name, u.email, u.github_login, u.role, u.team, u.timezone,
                COALESCE(NULLIF(m.name, ''), m.email) AS manager,
                count(b.id) AS "open_bugs!",
                workload_level(COALESCE(sum(bug_weight(b.severity, b.is_blocker)), 0)) AS "workload!",
                u.notify, u.email IS NOT NULL AS "has_address!"
           FROM users u
           LEFT JOIN users m ON m.id = u.manager_id
           LEFT JOIN bugs b ON b.assignee_id = u.id AND b.status IN ('open', 'in_progress')
          GROUP BY u.id, m.id
          ORDER BY u.team NULLS LAST, lower(u.name), u.id"#,
    )
    .fetch_all(&pool)
    .await?;
    listing::print(&people, args.json)
}

impl Listing for Person {
    const COLUMNS: &'static [Column] = &[
        col("NAME", 24),
        col("EMAIL", 30),
        col("LOGIN", 20),
        col("TEAM", 16),
        col("MANAGER", 20),
        num("OPEN", 5),
        col("WORKLOAD", 8),
        col("NOTIFY", 6),
        col("ADDRESS", 0),
    ];
    const EMPTY: &'static str = "(no people)";
    fn cells(&self) -> Vec<String> {
        let dash = |v: &Option<String>, n| short(v.as_deref().unwrap_or("-"), n);
        vec![
            short(&self.name, 24),
            dash(&self.email, 30),
            dash(&self.github_login, 20),
            dash(&self.team, 16),
            dash(&self.manager, 20),
            self.open_bugs.to_string(),
            self.workload.clone(),
            (if self.notify { "yes" } else { "muted" }).to_owned(),
            (if self.has_address { "yes" } else { "none" }).to_owned(),
        ]
    }
}

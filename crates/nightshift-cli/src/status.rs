//! `nightshift status`: the last runs of each job, as a table or JSON.

use clap::Args;
use nightshift_tasks::registry::ROUTES;
use serde_json::json;

#[derive(Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Runs shown per job.
    #[arg(long, default_value_t = 5)]
    limit: i64,
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    let job_types: Vec<String> = ROUTES.iter().map(|r| r.2.to_owned()).collect();
    let rows = sqlx::query!(
        r#"
        SELECT job_type AS "job_type!", id AS "id!", status AS "status!", trigger AS "trigger!",
               slot, started_at AS "started_at!", execution_time_ms, error_message
          FROM (SELECT *, row_number() OVER (PARTITION BY job_type ORDER BY started_at DESC) AS rn
                  FROM job_history WHERE job_type = ANY($1)) t
         WHERE rn <= $2
         ORDER BY job_type, started_at DESC
        "#,
        &job_types,
        args.limit,
    )
    .fetch_all(&pool)
    .await?;
    if args.json {
        let runs: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "job_type": r.job_type, "id": r.id, "status": r.status, "trigger": r.trigger,
                    "slot": r.slot, "started_at": r.started_at,
                    "execution_time_ms": r.execution_time_ms, "error_message": r.error_message,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "runs": runs }))?
        );
        return Ok(());
    }
    println!(
        "{:<15} {:<10} {:<7} {:<20} {:>9}  ERROR",
        "JOB", "STATUS", "TRIGGER", "STARTED (UTC)", "MS"
    );
    for (_, _, job_type) in ROUTES {
        let mine: Vec<_> = rows.iter().filter(|r| r.job_type == *job_type).collect();
        if mine.is_empty() {
            println!("{job_type:<15} {:<10}", "never run");
        }
        for r in mine {
            let err: String = r
                .error_message
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            println!(
                "{:<15} {:<10} {:<7} {:<20} {:>9}  {}",
                r.job_type,
                r.status,
                r.trigger,
                r.started_at.format("%Y-%m-%d %H:%M:%S"),
                r.execution_time_ms
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "-".into()),
                err
            );
        }
    }
    Ok(())
}

//! `nightshift bench invoke`: what one invocation costs outside the tasks.
//!
//! * cold start: the release route binary (`hourly`) is spawned with
//!   VERCEL_DEV_PORT, polled with connect until it listens, then called once
//!   (`force=true`, every hourly task on the database it is given): spawn to
//!   listening, and spawn to its first HTTP answer;
//! * peak memory: VmHWM from /proc/<pid>/status after that call;
//! * runtime overhead: `?tasks=watch_jobs` through the router (auth, options,
//!   sweep, claim, events, fenced finish) against `watch_jobs` called bare,
//!   interleaved call by call, in this process on a warm pool.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use nightshift_core::Task;
use tokio::process::Command;

use super::{BenchArgs, bare_context, ms, show};
use crate::pool_of;

const CHEAPEST: &str = "watch_jobs";

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let (app, _, secret) = crate::run::local_app()?;
    let binary = match &args.route_binary {
        Some(p) => p.clone(),
        None => sibling("hourly")?,
    };
    println!(
        "invoke: {} rounds, route binary {}",
        args.rounds,
        binary.display()
    );

    let (mut listen, mut answer, mut hwm) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let c = cold_start(&binary, &secret).await?;
        println!(
            "  cold start {round}: listening after {:.1} ms, first answer (HTTP {}) after {:.1} ms, VmHWM {:.1} MB",
            ms(c.listening),
            c.status,
            ms(c.answered),
            c.hwm_kb as f64 / 1024.0
        );
        listen.push(ms(c.listening));
        answer.push(ms(c.answered));
        hwm.push(c.hwm_kb as f64 / 1024.0);
    }
    println!("RESULT invoke spawn_to_listen_ms {}", show(&listen, 1));
    println!(
        "RESULT invoke spawn_to_first_answer_ms {}",
        show(&answer, 1)
    );
    println!("RESULT invoke peak_rss_mb {}", show(&hwm, 1));

    // Overhead of the runtime around the cheapest task.
    let pool = pool_of(&app).await?;
    let route = app.route("hourly").context("no hourly route")?;
    let task = route
        .tasks
        .iter()
        .find(|t| t.name() == CHEAPEST)
        .context("no watch_jobs task")?
        .clone();
    let query = format!("tasks={CHEAPEST}");
    // Warm-up: the pool's connections and prepared statements.
    routed(&app, &secret, &query).await?;
    bare(task.as_ref(), &app, &pool).await?;
    let (mut routed_ms, mut bare_ms, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let (mut r, mut b) = (Vec::new(), Vec::new());
        for _ in 0..args.calls {
            let t = Instant::now();
            routed(&app, &secret, &query).await?;
            r.push(ms(t.elapsed()));
            let t = Instant::now();
            bare(task.as_ref(), &app, &pool).await?;
            b.push(ms(t.elapsed()));
        }
        let (rm, bm) = (super::spread(&r).0, super::spread(&b).0);
        println!(
            "  overhead {round}: ?tasks={CHEAPEST} {rm:.2} ms, bare {bm:.2} ms (medians of {} calls each): +{:.2} ms",
            args.calls,
            rm - bm
        );
        routed_ms.push(rm);
        bare_ms.push(bm);
        overhead.push(rm - bm);
    }
    println!("RESULT invoke routed_call_ms {}", show(&routed_ms, 2));
    println!("RESULT invoke bare_task_ms {}", show(&bare_ms, 2));
    println!("RESULT invoke runtime_overhead_ms {}", show(&overhead, 2));
    Ok(())
}

struct Cold {
    listening: Duration,
    answered: Duration,
    status: u16,
    hwm_kb: u64,
}

async fn cold_start(binary: &PathBuf, secret: &str) -> anyhow::Result<Cold> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env("VERCEL_DEV_PORT", port.to_string())
        .env("CRON_SECRET", secret)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let pid = child.id().context("child has no pid")?;
    let listening = loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break started.elapsed();
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("{} exited with {status} before listening", binary.display());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "no listener after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let resp = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{port}/api/cron/hourly?force=true"
        ))
        .bearer_auth(secret)
        .send()
        .await
        .context("calling the cold binary")?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    let answered = started.elapsed();
    anyhow::ensure!(
        status == 200,
        "cold call answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let hwm_kb = vm_hwm_kb(pid)?;
    child.kill().await?;
    Ok(Cold {
        listening,
        answered,
        status,
        hwm_kb,
    })
}

fn vm_hwm_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: cargo build --release --bin {name}",
        path.display()
    );
    Ok(path)
}

async fn routed(
    app: &std::sync::Arc<nightshift_core::App>,
    secret: &str,
    query: &str,
) -> anyhow::Result<()> {
    let (status, body) = crate::run::call(app, secret, "hourly", query).await?;
    anyhow::ensure!(
        body["outcome"] == "completed",
        "route answered {status}: {body}"
    );
    Ok(())
}

async fn bare(
    task: &dyn Task,
    app: &std::sync::Arc<nightshift_core::App>,
    pool: &sqlx::PgPool,
) -> anyhow::Result<()> {
    task.run(&bare_context(app, pool, "hourly")).await?;
    Ok(())
}

//! The CLI's connections: the same pooler-safe options as the routes'
//! (`nightshift_core::db::connect_options`), and migrations over a direct
//! connection (DATABASE_URL_DIRECT) when DATABASE_URL goes through a
//! transaction pooler. docs/deploy/poolers.md.

use anyhow::{Context, bail};
use nightshift_core::Config;
use nightshift_core::db::connect_options;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// DATABASE_URL, pooler-safe when DATABASE_PGBOUNCER or the URL says so.
pub async fn connect() -> anyhow::Result<PgPool> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let opts =
        connect_options(&url, pooler_mode(&url)?).map_err(|e| anyhow::anyhow!(e.detail()))?;
    PgPoolOptions::new()
        .connect_with(opts)
        .await
        .context("connecting to DATABASE_URL")
}

/// Where migrations run. sqlx's migrator holds a session-level advisory lock
/// for the whole run, which a transaction pooler would leave behind on some
/// server connection (or release on another): migrations need a session of
/// their own, so never go through the pooler. `direct` is the `migrate`
/// command's `--database-url-direct` / DATABASE_URL_DIRECT (clap reads it).
pub async fn migration_pool(direct: Option<&str>) -> anyhow::Result<PgPool> {
    if let Some(direct) = direct.filter(|v| !v.trim().is_empty()) {
        let opts = connect_options(direct, false)
            .map_err(|e| anyhow::anyhow!(e.detail()))
            .context("DATABASE_URL_DIRECT")?;
        return PgPoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .context("connecting to DATABASE_URL_DIRECT");
    }
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    if pooler_mode(&url)? {
        bail!(
            "DATABASE_URL goes through a transaction pooler (DATABASE_PGBOUNCER, or the URL says \
             so) and migrations need a direct connection: set DATABASE_URL_DIRECT to the \
             database's direct, non-pooled URL"
        );
    }
    connect().await
}

/// Config's rule (DATABASE_PGBOUNCER, else the URL's pooler markers), with
/// its validation of the variable.
pub fn pooler_mode(url: &str) -> anyhow::Result<bool> {
    let cfg = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.to_owned()),
        "DATABASE_PGBOUNCER" => std::env::var(k).ok(),
        _ => None,
    })?;
    Ok(cfg.pgbouncer_mode())
}

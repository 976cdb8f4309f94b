//! The Postgres pool: lazy (no connection until the first query, so a cold
//! start costs nothing and an unset DATABASE_URL still lets the route answer),
//! small (serverless containers multiply connections), pooler-safe on demand.

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::OnceCell;

use crate::config::Config;
use crate::error::HandleError;
// Where the CLI and the tasks have always found them; they classify errors,
// so they live with HandleError.
pub use crate::error::{is_transient, is_unavailable};

/// Every migration of the project, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

pub struct Db {
    pool: Option<PgPool>,
    /// The ledger's own connections: tasks stuck on a lock or a slow query can
    /// exhaust the task pool, and the run must still record how it ended.
    ledger: Option<PgPool>,
    schema_checked: OnceCell<()>,
}

/// Connections kept for the ledger (sweep, claim, events, finish).
const LEDGER_CONNECTIONS: u32 = 2;

impl Db {
    pub fn from_config(cfg: &Config) -> Result<Self, HandleError> {
        let Some(url) = &cfg.database_url else {
            return Ok(Self {
                pool: None,
                ledger: None,
                schema_checked: OnceCell::new(),
            });
        };
        let opts = connect_options(url.expose_secret(), cfg.pgbouncer_mode())?;
        let pool = pool_options(cfg.db_max_connections).connect_lazy_with(opts);
        Ok(Self::from_pool(pool))
    }

    /// Over an existing pool (tests, the CLI); the ledger gets its own small
    /// pool to the same database.
    pub fn from_pool(pool: PgPool) -> Self {
        let opts = (*pool.connect_options()).clone();
        let ledger = pool_options(LEDGER_CONNECTIONS).connect_lazy_with(opts);
        Self {
            pool: Some(pool),
            ledger: Some(ledger),
            schema_checked: OnceCell::new(),
        }
    }

    /// The ledger's pool, once `ready` has succeeded.
    pub fn ledger(&self) -> Result<&PgPool, HandleError> {
        self.ledger
            .as_ref()
            .ok_or(HandleError::DatabaseNotConfigured)
    }

    /// The pool, once the schema is known to be at least as new as this
    /// binary. The check runs once per warm container.
    pub async fn ready(&self) -> Result<&PgPool, HandleError> {
        let pool = self
            .pool
            .as_ref()
            .ok_or(HandleError::DatabaseNotConfigured)?;
        self.schema_checked
            .get_or_try_init(|| check_schema(pool))
            .await?;
        Ok(pool)
    }

    pub fn pool(&self) -> Option<&PgPool> {
        self.pool.as_ref()
    }
}

/// How every pool of ours connects (the routes', the ledger's, the CLI's).
/// `pooler`: a transaction-mode pooler (PgBouncer, Supabase, Neon) hands each
/// transaction, even each Sync, to any server connection, so no prepared
/// statement may outlive its batch: the cache is off, which with the patched
/// sqlx-postgres (vendor/README.md) makes every statement unnamed and
/// self-contained. `extra_float_digits` is left out of the startup packet:
/// PgBouncer refuses unknown startup parameters unless configured to ignore
/// them, and since Postgres 12 the server's default already prints floats
/// exactly. docs/decisions.md, and docs/deploy/poolers.md.
pub fn connect_options(url: &str, pooler: bool) -> Result<PgConnectOptions, HandleError> {
    let mut opts = PgConnectOptions::from_str(url)
        .map_err(|e| HandleError::internal(format!("DATABASE_URL is invalid: {}", redact(&e))))?
        .application_name("nightshift");
    if pooler {
        opts = opts.statement_cache_capacity(0).extra_float_digits(None);
    }
    Ok(opts)
}

/// Small and lazy: serverless containers multiply connections, and a cold
/// start should not pay for any it does not use.
fn pool_options(max: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(60))
        .max_lifetime(Duration::from_secs(30 * 60))
}

async fn check_schema(pool: &PgPool) -> Result<(), HandleError> {
    let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let found: Result<Option<i64>, sqlx::Error> =
        // Runtime SQL: `_sqlx_migrations` is the migrator's table, absent from
        // an unmigrated database (the 42P01 arm below) and from the schema the
        // macros are checked against (scripts/sqlx-prepare applies the files).
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await;
    let found = match found {
        Ok(v) => v.unwrap_or(0),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => 0,
        Err(e) => return Err(HandleError::from_db(e)),
    };
    if found < expected {
        return Err(HandleError::SchemaOutdated { found, expected });
    }
    Ok(())
}

/// sqlx parse errors may echo the URL; keep only the kind of problem.
fn redact(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Configuration(_) => "not a postgres:// URL sqlx can parse".into(),
        other => other
            .to_string()
            .split(':')
            .next()
            .unwrap_or("invalid")
            .to_owned(),
    }
}

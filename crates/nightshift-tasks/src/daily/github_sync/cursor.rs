//! Where a repository's sync stands, saved with every page: `since` for the
//! next walk, page 1's ETag, and the URL an interrupted walk resumes at.

use crate::TasksConfig;
use chrono::{DateTime, Utc};
use nightshift_core::TaskContext;
use nightshift_github::{GitHubError, Page, is_valid_repo_name};

use super::queue::Item;

pub struct Cursor {
    pub since: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub next_url: Option<String>,
    pub walk_max_updated: Option<DateTime<Utc>>,
}

pub async fn load(pool: &sqlx::PgPool, project: i64) -> sqlx::Result<Cursor> {
    Ok(sqlx::query_as!(
        Cursor,
        "SELECT since, etag, next_url, walk_max_updated FROM github_sync_cursors WHERE project_id = $1",
        project
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or(Cursor { since: None, etag: None, next_url: None, walk_max_updated: None }))
}

/// The new name a redirected page's items give, when it is no GitHub
/// `owner/name` (`../..` would escape the API path it is put in): that
/// repository then fails with this error, the others sync on.
pub fn bad_new_name(page: &Page) -> Option<GitHubError> {
    let name = page.items.iter().find_map(|i| i.repository_full_name())?;
    (!is_valid_repo_name(&name)).then(|| GitHubError::Malformed {
        url: page.url.to_string(),
        reason: format!("the renamed repository's name {name:?} is no GitHub owner/name"),
    })
}

/// A renamed or transferred repository answers through /repositories/{id}:
/// keep its id, and its new name when the items say it (checked by
/// `bad_new_name` first).
pub async fn follow_rename(
    ctx: &TaskContext<TasksConfig>,
    item: &Item,
    page: &Page,
) -> anyhow::Result<()> {
    let id: Option<i64> = page
        .url
        .path_segments()
        .and_then(|mut s| {
            s.position(|seg| seg == "repositories")
                .and_then(|i| page.url.path_segments()?.nth(i + 1))
        })
        .and_then(|id| id.parse().ok());
    let name = page.items.iter().find_map(|i| i.repository_full_name());
    sqlx::query!(
        r#"UPDATE projects SET github_repo_id = COALESCE($2, github_repo_id), github_repo = COALESCE($3, github_repo)
            WHERE id = $1"#,
        item.project_id,
        id,
        name,
    )
    .execute(&ctx.pool)
    .await?;
    Ok(())
}

pub struct Saved {
    pub since: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub next_url: Option<String>,
    pub walk_max_updated: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub rate_reset: Option<DateTime<Utc>>,
}

impl Saved {
    pub fn finished(since: Option<DateTime<Utc>>, etag: Option<String>) -> Self {
        Self {
            since,
            etag,
            next_url: None,
            walk_max_updated: None,
            error: None,
            rate_reset: None,
        }
    }
}

pub async fn save(ctx: &TaskContext<TasksConfig>, project: i64, s: &Saved) -> anyhow::Result<()> {
    let mut conn = ctx.pool.acquire().await?;
    save_tx(&mut conn, project, ctx.now, s).await
}

pub async fn save_tx(
    conn: &mut sqlx::PgConnection,
    project: i64,
    now: DateTime<Utc>,
    s: &Saved,
) -> anyhow::Result<()> {
    let finished = s.next_url.is_none();
    sqlx::query!(
        r#"
        INSERT INTO github_sync_cursors (project_id, since, etag, next_url, walk_max_updated, last_error,
                                         rate_limit_reset, last_synced_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN $9::timestamptz END, $9)
        ON CONFLICT (project_id) DO UPDATE
           SET since = EXCLUDED.since, etag = EXCLUDED.etag, next_url = EXCLUDED.next_url,
               walk_max_updated = EXCLUDED.walk_max_updated, last_error = EXCLUDED.last_error,
               rate_limit_reset = EXCLUDED.rate_limit_reset,
               last_synced_at = COALESCE(EXCLUDED.last_synced_at, github_sync_cursors.last_synced_at),
               updated_at = EXCLUDED.updated_at
        "#,
        project,
        s.since,
        s.etag,
        s.next_url,
        s.walk_max_updated,
        s.error,
        s.rate_reset,
        finished,
        now,
    )
    .execute(&mut *conn)
    .await?;
    if finished {
        sqlx::query!(
            "UPDATE projects SET sync_error = NULL WHERE id = $1",
            project
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

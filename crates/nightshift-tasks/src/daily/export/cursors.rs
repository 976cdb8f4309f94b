//! The one restored value that names a host: a GitHub cursor's next page.
//! The sync sends the token to it, so a bucket that could set it could have
//! the token sent anywhere; the sync refuses one off GITHUB_API_URL's origin
//! (github_sync/walk.rs), and a restore drops it at once, saying so.

use anyhow::Context;
use reqwest::Url;
use sqlx::PgConnection;

/// Sets `next_url` to NULL where it is not on `api_url`'s origin (or is not a
/// URL), so that repository is walked again from page 1. Returns the
/// repositories (or `project <id>` for one with none) whose page was dropped.
pub(super) async fn drop_foreign_next_pages(
    conn: &mut PgConnection,
    api_url: &str,
) -> anyhow::Result<Vec<String>> {
    let stored = sqlx::query!(
        r#"SELECT c.project_id, p.github_repo, c.next_url AS "next_url!"
             FROM github_sync_cursors c JOIN projects p ON p.id = c.project_id
            WHERE c.next_url IS NOT NULL
            ORDER BY c.project_id"#
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading the restored GitHub cursors")?;
    let mut ids = Vec::new();
    let mut named = Vec::new();
    for c in stored {
        let ours = match Url::parse(&c.next_url) {
            Ok(u) => nightshift_github::on_api_origin(api_url, &u)?,
            Err(_) => false,
        };
        if !ours {
            ids.push(c.project_id);
            named.push(
                c.github_repo
                    .unwrap_or_else(|| format!("project {}", c.project_id)),
            );
        }
    }
    if !ids.is_empty() {
        sqlx::query!(
            "UPDATE github_sync_cursors SET next_url = NULL WHERE project_id = ANY($1)",
            &ids
        )
        .execute(&mut *conn)
        .await
        .context("dropping foreign next pages")?;
    }
    Ok(named)
}

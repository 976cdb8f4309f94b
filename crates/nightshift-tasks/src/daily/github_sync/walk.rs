//! One repository's walk: from the cursor, page after page, each page stored
//! together with the cursor that says where to resume, so an invocation that
//! stops (deadline, rate limit, crash) leaves nothing half done.

use std::time::Duration;

use crate::TasksConfig;
use anyhow::Context;
use chrono::{DateTime, Utc};
use nightshift_core::retry::RetryPolicy;
use nightshift_core::{TaskContext, Transient};
use nightshift_github::{Fetch, GitHub, GitHubError};
use reqwest::Url;

use super::cursor::{self, Saved, save, save_tx};
use super::mapping::Mapping;
use super::queue::Item;
use super::store::{self, Stored};

#[derive(Debug)]
pub enum Outcome {
    Done {
        pages: u32,
        stored: Stored,
        not_modified: bool,
    },
    /// Stopped early; the item goes back to the queue.
    Paused {
        not_before: Option<DateTime<Utc>>,
        reason: String,
        stored: Stored,
    },
    /// This repository failed; the others carry on. `transient`: another
    /// attempt could succeed (a 5xx, a timeout), so the run asks for a retry.
    Failed {
        error: String,
        transient: bool,
        stored: Stored,
    },
}

/// `Err` only for what ends the whole sync (a rejected token, the database).
pub async fn walk(
    ctx: &TaskContext<TasksConfig>,
    gh: &GitHub,
    m: &Mapping,
    item: &Item,
) -> anyhow::Result<Outcome> {
    let c = cursor::load(&ctx.pool, item.project_id).await?;
    let first = gh.issues_url(&item.repo, c.since);
    // A stored next page comes from the database, which a restore fills
    // from a bucket: one that names another origin (an internal address,
    // a hostile mirror) is not fetched; the repository starts over.
    let mut url = match c.next_url.as_deref().map(Url::parse) {
        Some(Ok(u)) if gh.is_api_origin(&u) => u,
        Some(_) => {
            tracing::warn!(
                project_id = item.project_id,
                repo = %item.repo,
                "the stored next page is not a URL on GITHUB_API_URL's origin: starting the repository over"
            );
            first.clone()
        }
        None => first.clone(),
    };
    let mut on_first_page = url == first;
    let mut max_updated = c.walk_max_updated;
    // Page 1's ETag for `since`, learned on page 1 and carried to the end.
    let mut first_etag = c.etag.clone();
    let (mut pages, mut stored, mut slowest) = (0, Stored::default(), Duration::from_secs(1));
    loop {
        if !ctx.has_time_for(slowest * 2) {
            return Ok(Outcome::Paused {
                not_before: None,
                reason: "deadline".into(),
                stored,
            });
        }
        let started = std::time::Instant::now();
        let etag = if on_first_page {
            c.etag.as_deref()
        } else {
            None
        };
        let page = match fetch(ctx, gh, &url, etag).await {
            Ok(Fetch::NotModified { .. }) => {
                save(
                    ctx,
                    item.project_id,
                    &Saved::finished(c.since, c.etag.clone()),
                )
                .await?;
                return Ok(Outcome::Done {
                    pages,
                    stored,
                    not_modified: true,
                });
            }
            Ok(Fetch::Page(p)) => p,
            Err(e) => return stop(ctx, item, e, stored).await,
        };
        slowest = slowest.max(started.elapsed());
        pages += 1;
        if page.redirected {
            if let Some(e) = cursor::bad_new_name(&page) {
                return stop(ctx, item, e, stored).await;
            }
            cursor::follow_rename(ctx, item, &page).await?;
        }
        max_updated = page
            .items
            .iter()
            .map(|i| i.updated_at)
            .chain(max_updated)
            .max();
        let mut tx = ctx.pool.begin().await?;
        let s = store::store(&mut tx, item.project_id, ctx.now, &page.items, m)
            .await
            .context("storing a page")?;
        stored = Stored {
            bugs: stored.bugs + s.bugs,
            pull_requests: stored.pull_requests + s.pull_requests,
            not_bugs: stored.not_bugs + s.not_bugs,
        };
        if on_first_page {
            first_etag = page.etag.clone();
        }
        let etag = first_etag.clone();
        let Some(next) = page.next.clone() else {
            // Walk complete: what was seen becomes the next `since`.
            save_tx(
                &mut tx,
                item.project_id,
                ctx.now,
                &Saved::finished(max_updated.or(c.since), etag),
            )
            .await?;
            tx.commit().await?;
            if max_updated.is_some() && max_updated != c.since {
                learn_etag(ctx, gh, m, item, max_updated).await?;
            }
            return Ok(Outcome::Done {
                pages,
                stored,
                not_modified: false,
            });
        };
        let progress = Saved {
            since: c.since,
            etag,
            next_url: Some(next.to_string()),
            walk_max_updated: max_updated,
            error: None,
            rate_reset: None,
        };
        cursor::save_tx(&mut tx, item.project_id, ctx.now, &progress).await?;
        tx.commit().await?;
        if page.rate.exhausted() {
            return stop(
                ctx,
                item,
                GitHubError::RateLimited {
                    reset: page.rate.reset,
                },
                stored,
            )
            .await;
        }
        url = next;
        on_first_page = false;
    }
}

/// One page, with the core's retries for transient failures and GitHub's own
/// pause for secondary limits, both only while the deadline allows.
async fn fetch(
    ctx: &TaskContext<TasksConfig>,
    gh: &GitHub,
    url: &Url,
    etag: Option<&str>,
) -> Result<Fetch, GitHubError> {
    loop {
        let (res, _) = RetryPolicy::default()
            .run(ctx.deadline, || async {
                gh.fetch_issues(url, etag)
                    .await
                    .map_err(|e| match e.is_transient() {
                        true => anyhow::Error::new(Transient(anyhow::Error::new(e))),
                        false => anyhow::Error::new(e),
                    })
            })
            .await;
        let err = match res {
            Ok(f) => return Ok(f),
            Err(e) => into_github(e),
        };
        match err {
            GitHubError::SecondaryLimit { retry_after }
                if ctx.has_time_for(retry_after + Duration::from_secs(1)) =>
            {
                tokio::time::sleep(retry_after).await;
            }
            other => return Err(other),
        }
    }
}

fn into_github(e: anyhow::Error) -> GitHubError {
    let msg = format!("{e:#}");
    match e.downcast::<GitHubError>() {
        Ok(g) => g,
        Err(e) => match e.downcast::<Transient>() {
            Ok(t) => {
                t.0.downcast::<GitHubError>()
                    .unwrap_or(GitHubError::Malformed {
                        url: String::new(),
                        reason: msg,
                    })
            }
            Err(_) => GitHubError::Malformed {
                url: String::new(),
                reason: msg,
            },
        },
    }
}

/// Decides what a GitHub error means for this repository.
async fn stop(
    ctx: &TaskContext<TasksConfig>,
    item: &Item,
    e: GitHubError,
    stored: Stored,
) -> anyhow::Result<Outcome> {
    match e {
        GitHubError::Unauthorized => Err(anyhow::Error::new(e)),
        GitHubError::RateLimited { reset } => {
            sqlx::query!(
                "UPDATE github_sync_cursors SET rate_limit_reset = $2 WHERE project_id = $1",
                item.project_id,
                reset
            )
            .execute(&ctx.pool)
            .await?;
            let when = reset
                .map(|r| r.to_rfc3339())
                .unwrap_or_else(|| "unknown".into());
            Ok(Outcome::Paused {
                not_before: reset,
                reason: format!("rate limit exhausted until {when}"),
                stored,
            })
        }
        GitHubError::SecondaryLimit { retry_after } => Ok(Outcome::Paused {
            not_before: Some(
                ctx.clock.now() + chrono::Duration::from_std(retry_after).unwrap_or_default(),
            ),
            reason: format!(
                "secondary rate limit: retry after {} s",
                retry_after.as_secs()
            ),
            stored,
        }),
        other => {
            let transient = other.is_transient();
            let error = other.to_string();
            let mut tx = ctx.pool.begin().await?;
            sqlx::query!(
                "UPDATE projects SET sync_error = $2 WHERE id = $1",
                item.project_id,
                error
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                r#"INSERT INTO github_sync_cursors (project_id, last_error, updated_at) VALUES ($1, $2, $3)
                   ON CONFLICT (project_id) DO UPDATE SET last_error = $2, updated_at = $3"#,
                item.project_id,
                error,
                ctx.now,
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Outcome::Failed {
                error,
                transient,
                stored,
            })
        }
    }
}

/// After a walk that moved `since`, page 1 of the next walk's URL is asked
/// for once, so the next run can send its ETag and, if nothing changed, get a
/// 304 that costs no rate limit. What it returns is stored like any page.
async fn learn_etag(
    ctx: &TaskContext<TasksConfig>,
    gh: &GitHub,
    m: &Mapping,
    item: &Item,
    since: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    let url = gh.issues_url(&item.repo, since);
    if let Ok(Fetch::Page(p)) = fetch(ctx, gh, &url, None).await
        && p.next.is_none()
    {
        let mut tx = ctx.pool.begin().await?;
        store::store(&mut tx, item.project_id, ctx.now, &p.items, m).await?;
        sqlx::query!(
            "UPDATE github_sync_cursors SET etag = $2 WHERE project_id = $1",
            item.project_id,
            p.etag
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

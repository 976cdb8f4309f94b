//! `compose_digests`: every pending notice of a recipient becomes one outbox
//! row, so a person hears from a run once, however many bugs and alerts are
//! about them. Runs in the hourly route after the tasks that write notices
//! and before `deliver_notifications`.
//!
//! - A recipient whose previous digest is still waiting unsent (the per-run
//!   cap) gets the new items folded into it: unsent mail never piles up into
//!   several messages per person.
//! - A person with `notify = false` gets nothing: their notices are `muted`.
//! - A person without an address keeps their notices pending until an
//!   import gives them one.
//!
//! Passes of at most PASS_NOTICES notices, each one transaction: notices are
//! marked `digested` together with the row that carries them, so nothing is
//! lost or told twice, and memory stays bounded however large the pile.

use std::collections::BTreeMap;

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::digest_rows::{NewRows, fold, insert, update};
use super::render::{self, Item};
use crate::notices::SLACK;

/// Notices composed per run; a larger pile is finished by the next run,
/// whose digests fold into these while they wait unsent.
const MAX_NOTICES: i64 = 50_000;

/// Notices held in memory at once. A backlog's first run at 1M bugs writes
/// 3,484 summaries of about 1.2 KB, and the run after it folds warnings into
/// those digests while they wait. Composed in one pass, the rows, their
/// items, the rendered bodies and their encoding took the route's peak heap
/// to 36 MB (valgrind massif); a pass of 200 keeps what one pass holds to
/// about a megabyte. That backlog then takes 45 passes, 3.3 s in all against
/// 1 s in one pass (docs/decisions.md, 75; BENCHMARKS.md, hourly).
const PASS_NOTICES: i64 = 200;

pub struct ComposeDigests;

/// (channel, lower-case address or "slack")
pub(super) type Key = (String, String);

#[derive(Default)]
pub(super) struct Recipient {
    pub(super) address: String,
    pub(super) name: Option<String>,
    pub(super) new: Vec<Item>,
    pub(super) folded_into: Option<i64>,
    pub(super) earlier: Vec<Item>,
}

#[async_trait::async_trait]
impl Task<TasksConfig> for ComposeDigests {
    fn name(&self) -> &'static str {
        "compose_digests"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let muted = sqlx::query!(
            "UPDATE notices n SET status = 'muted' FROM users u
              WHERE u.id = n.user_id AND n.status = 'pending' AND NOT u.notify"
        )
        .execute(&ctx.pool)
        .await
        .context("muting notices of people who asked for none")?
        .rows_affected();
        let mut total = Pass::default();
        let more_work = loop {
            let pass = compose_pass(ctx).await?;
            total.taken += pass.taken;
            total.notices += pass.notices;
            total.digests += pass.digests;
            total.folded += pass.folded;
            // A short pass took the whole pile; a pass that placed nothing
            // would only take the same notices again.
            if pass.taken < PASS_NOTICES || pass.notices == 0 {
                break false;
            }
            if total.taken >= MAX_NOTICES || tokio::time::Instant::now() >= ctx.deadline {
                break true;
            }
        };
        let waiting = sqlx::query_scalar!(
            r#"SELECT count(DISTINCT n.user_id) AS "n!" FROM notices n JOIN users u ON u.id = n.user_id
                WHERE n.status = 'pending' AND u.email IS NULL"#
        )
        .fetch_one(&ctx.pool)
        .await?;
        Ok(TaskReport {
            records_processed: total.notices,
            more_work,
            warning: (waiting > 0).then(|| {
                format!(
                    "{waiting} person(s) have notices but no e-mail address: \
                     `nightshift people import` can give them one"
                )
            }),
            details: json!({
                "notices": total.notices, "digests": total.digests, "folded": total.folded,
                "muted": muted, "people_without_address": waiting,
            }),
            ..TaskReport::default()
        })
    }
}

#[derive(Default)]
struct Pass {
    taken: i64,
    notices: i64,
    digests: i64,
    folded: i64,
}

/// One pass over the next PASS_NOTICES pending notices in recipient order,
/// in one transaction: each is marked `digested` together with the row that
/// carries it, so nothing is lost or told twice. The recipient a pass ends
/// inside finds, in the next pass, the digest this one wrote still waiting
/// untried, and has the rest of their items folded in.
async fn compose_pass(ctx: &TaskContext<TasksConfig>) -> anyhow::Result<Pass> {
    let mut tx = ctx.pool.begin().await?;
    let rows = sqlx::query!(
        r#"
        -- Recipient by recipient (a person is one user_id, an outside
        -- address one address, the channel the NULLs at the end), so only
        -- the one a pass ends inside is met again by the next pass. In order
        -- of age every pass met hundreds of people again and re-rendered
        -- their whole digests: 3,962 folds for 3,484 people at 1M bugs, the
        -- encoded bodies 12.5 MB of one connection's buffer. The pass picks
        -- ids first: sorting whole rows spilled to disk on every pass.
        WITH picked AS (
            SELECT n.id
              FROM notices n LEFT JOIN users u ON u.id = n.user_id
             WHERE n.status = 'pending'
               AND (n.channel = 'slack' OR n.address IS NOT NULL OR u.email IS NOT NULL)
             ORDER BY n.user_id, n.address, n.id
             LIMIT $1
               FOR UPDATE OF n SKIP LOCKED
        )
        SELECT n.id, n.channel, COALESCE(u.email, n.address, 'slack') AS "address!",
               u.name AS "name?", n.kind, n.urgency, n.critical, n.headline, n.details,
               n.created_at
          FROM picked JOIN notices n ON n.id = picked.id
          LEFT JOIN users u ON u.id = n.user_id
         ORDER BY n.id
        "#,
        PASS_NOTICES,
    )
    .fetch_all(&mut *tx)
    .await
    .context("reading pending notices")?;
    let taken = rows.len() as i64;
    let mut by: BTreeMap<Key, Recipient> = BTreeMap::new();
    for r in rows {
        let key = (r.channel.clone(), r.address.to_lowercase());
        let entry = by.entry(key).or_default();
        entry.address = r.address;
        entry.name = entry.name.take().or(r.name);
        entry.new.push(Item {
            id: r.id,
            kind: r.kind,
            urgency: r.urgency,
            critical: r.critical,
            headline: r.headline,
            details: r.details,
            created_at: r.created_at,
        });
    }
    fold(&mut tx, &mut by).await?;

    let status_url = ctx.cfg.dashboard_url();
    let (mut new_rows, mut refolded) = (NewRows::default(), Vec::new());
    for ((channel, key), r) in &by {
        let all: Vec<Item> = r.earlier.iter().chain(&r.new).cloned().collect();
        let m = if channel == SLACK {
            render::slack(&all)
        } else {
            render::email(r.name.as_deref(), &all, status_url.as_deref())
        };
        match r.folded_into {
            Some(id) => refolded.push((id, m)),
            None => new_rows.push(
                channel,
                &r.address,
                format!("digest:{channel}:{key}:{}", ctx.run_id),
                m,
            ),
        }
    }
    let created = insert(&mut tx, ctx.now, &new_rows).await?;
    update(&mut tx, &refolded).await?;

    // Every notice now points at the row that carries it.
    let (mut ids, mut carriers) = (Vec::new(), Vec::new());
    for ((channel, key), r) in &by {
        let carrier = r.folded_into.or_else(|| {
            created
                .get(&format!("digest:{channel}:{key}:{}", ctx.run_id))
                .copied()
        });
        if let Some(c) = carrier {
            ids.extend(r.new.iter().map(|i| i.id));
            carriers.extend(std::iter::repeat_n(c, r.new.len()));
        }
    }
    sqlx::query!(
        "UPDATE notices n SET status = 'digested', notification_id = x.nid
           FROM UNNEST($1::int8[], $2::int8[]) AS x(id, nid) WHERE n.id = x.id",
        &ids,
        &carriers,
    )
    .execute(&mut *tx)
    .await
    .context("marking notices digested")?;
    tx.commit().await?;
    Ok(Pass {
        taken,
        notices: ids.len() as i64,
        digests: created.len() as i64,
        folded: refolded.len() as i64,
    })
}

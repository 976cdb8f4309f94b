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
//! One transaction: notices are marked `digested` together with the row that
//! carries them, so nothing is lost or told twice.

use std::collections::BTreeMap;

use crate::TasksConfig;
use anyhow::Context;
use chrono::{DateTime, Utc};
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::render::{self, Item};
use crate::notices::SLACK;

/// Notices composed per run; a larger pile is finished by the next run,
/// whose digests fold into these while they wait unsent.
const MAX_NOTICES: i64 = 50_000;

pub struct ComposeDigests;

/// (channel, lower-case address or "slack")
type Key = (String, String);

#[derive(Default)]
struct Recipient {
    address: String,
    name: Option<String>,
    new: Vec<Item>,
    folded_into: Option<i64>,
    earlier: Vec<Item>,
}

#[async_trait::async_trait]
impl Task<TasksConfig> for ComposeDigests {
    fn name(&self) -> &'static str {
        "compose_digests"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let mut tx = ctx.pool.begin().await?;
        let muted = sqlx::query!(
            "UPDATE notices n SET status = 'muted' FROM users u
              WHERE u.id = n.user_id AND n.status = 'pending' AND NOT u.notify"
        )
        .execute(&mut *tx)
        .await
        .context("muting notices of people who asked for none")?
        .rows_affected();
        let rows = sqlx::query!(
            r#"
            SELECT n.id, n.channel, COALESCE(u.email, n.address, 'slack') AS "address!",
                   u.name AS "name?", n.kind, n.urgency, n.critical, n.headline, n.details,
                   n.created_at
              FROM notices n LEFT JOIN users u ON u.id = n.user_id
             WHERE n.status = 'pending'
               AND (n.channel = 'slack' OR n.address IS NOT NULL OR u.email IS NOT NULL)
             ORDER BY n.id
             LIMIT $1
               FOR UPDATE OF n SKIP LOCKED
            "#,
            MAX_NOTICES,
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
        let waiting = sqlx::query_scalar!(
            r#"SELECT count(DISTINCT n.user_id) AS "n!" FROM notices n JOIN users u ON u.id = n.user_id
                WHERE n.status = 'pending' AND u.email IS NULL"#
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(TaskReport {
            records_processed: ids.len() as i64,
            more_work: taken == MAX_NOTICES,
            warning: (waiting > 0).then(|| {
                format!(
                    "{waiting} person(s) have notices but no e-mail address: \
                     `nightshift people import` can give them one"
                )
            }),
            details: json!({
                "notices": ids.len(), "digests": created.len(), "folded": refolded.len(),
                "muted": muted, "people_without_address": waiting,
            }),
            ..TaskReport::default()
        })
    }
}

/// Finds each recipient's digest that still waits untried, and its items.
async fn fold(
    tx: &mut sqlx::PgConnection,
    by: &mut BTreeMap<Key, Recipient>,
) -> anyhow::Result<()> {
    let (channels, keys): (Vec<String>, Vec<String>) = by.keys().cloned().unzip();
    let open = sqlx::query!(
        r#"
        SELECT id, channel, lower(recipient) AS "key!" FROM notifications
         WHERE kind = 'digest' AND status = 'pending' AND attempts = 0
           AND (channel, lower(recipient)) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))
         ORDER BY id
           FOR UPDATE SKIP LOCKED
        "#,
        &channels,
        &keys,
    )
    .fetch_all(&mut *tx)
    .await
    .context("finding digests still waiting")?;
    let mut ids = Vec::new();
    for o in open {
        if let Some(r) = by.get_mut(&(o.channel, o.key))
            && r.folded_into.is_none()
        {
            r.folded_into = Some(o.id);
            ids.push(o.id);
        }
    }
    let earlier = sqlx::query!(
        "SELECT notification_id AS \"nid!\", id, kind, urgency, critical, headline, details, created_at
           FROM notices WHERE notification_id = ANY($1)",
        &ids,
    )
    .fetch_all(&mut *tx)
    .await
    .context("reading the items of waiting digests")?;
    let owner: BTreeMap<i64, Key> = by
        .iter()
        .filter_map(|(k, r)| r.folded_into.map(|id| (id, k.clone())))
        .collect();
    for e in earlier {
        if let Some(r) = owner.get(&e.nid).and_then(|k| by.get_mut(k)) {
            r.earlier.push(Item {
                id: e.id,
                kind: e.kind,
                urgency: e.urgency,
                critical: e.critical,
                headline: e.headline,
                details: e.details,
                created_at: e.created_at,
            });
        }
    }
    Ok(())
}

#[derive(Default)]
struct NewRows {
    recipient: Vec<String>,
    channel: Vec<String>,
    subject: Vec<String>,
    body: Vec<String>,
    key: Vec<String>,
    priority: Vec<i16>,
}

impl NewRows {
    fn push(&mut self, channel: &str, address: &str, key: String, m: render::Message) {
        self.recipient.push(address.to_owned());
        self.channel.push(channel.to_owned());
        self.subject.push(m.subject);
        self.body.push(m.body);
        self.key.push(key);
        self.priority.push(m.priority);
    }
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    now: DateTime<Utc>,
    rows: &NewRows,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let created = sqlx::query!(
        r#"
        INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, priority,
                                   next_attempt_at, created_at)
        SELECT 'digest', r, c, s, b, k, p, $1, $1
          FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int2[])
               AS x(r, c, s, b, k, p)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id, dedupe_key
        "#,
        now,
        &rows.recipient,
        &rows.channel,
        &rows.subject,
        &rows.body,
        &rows.key,
        &rows.priority,
    )
    .fetch_all(&mut *tx)
    .await
    .context("enqueueing digests")?;
    Ok(created.into_iter().map(|r| (r.dedupe_key, r.id)).collect())
}

async fn update(
    tx: &mut sqlx::PgConnection,
    rows: &[(i64, render::Message)],
) -> anyhow::Result<()> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let subjects: Vec<String> = rows.iter().map(|r| r.1.subject.clone()).collect();
    let bodies: Vec<String> = rows.iter().map(|r| r.1.body.clone()).collect();
    let priorities: Vec<i16> = rows.iter().map(|r| r.1.priority).collect();
    sqlx::query!(
        "UPDATE notifications n SET subject = x.s, body = x.b, priority = x.p
           FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int2[]) AS x(id, s, b, p)
          WHERE n.id = x.id",
        &ids,
        &subjects,
        &bodies,
        &priorities,
    )
    .execute(&mut *tx)
    .await
    .context("folding new items into waiting digests")?;
    Ok(())
}

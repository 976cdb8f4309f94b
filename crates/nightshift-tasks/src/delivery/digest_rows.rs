//! The outbox rows `compose_digests` (digest.rs) writes: finding a
//! recipient's digest that still waits untried and its items, enqueueing new
//! digests, and re-rendering the ones new items were folded into.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::digest::{Key, Recipient};
use super::render::{self, Item};

/// Finds each recipient's digest that still waits untried, and its items.
pub(super) async fn fold(
    tx: &mut sqlx::PgConnection,
    by: &mut BTreeMap<Key, Recipient>,
) -> anyhow::Result<()> {
    let (mut channels, keys): (Vec<String>, Vec<String>) = by.keys().cloned().unzip();
    channels.sort_unstable();
    channels.dedup();
    // Two arrays, not a join with UNNEST: while `notifications` still has
    // the statistics of an empty table (a backlog's first run), the join was
    // planned as a nested loop scanning the table once per key, 40 ms a pass
    // at 1M bugs against 2.5 ms with fresh statistics. `= ANY` is at worst
    // one scan with hashed arrays. The pair is matched exactly below.
    let open = sqlx::query!(
        r#"
        SELECT id, channel, lower(recipient) AS "key!" FROM notifications
         WHERE kind = 'digest' AND status = 'pending' AND attempts = 0
           AND channel = ANY($1) AND lower(recipient) = ANY($2)
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
pub(super) struct NewRows {
    recipient: Vec<String>,
    channel: Vec<String>,
    subject: Vec<String>,
    body: Vec<String>,
    key: Vec<String>,
    priority: Vec<i16>,
}

impl NewRows {
    pub(super) fn push(&mut self, channel: &str, address: &str, key: String, m: render::Message) {
        self.recipient.push(address.to_owned());
        self.channel.push(channel.to_owned());
        self.subject.push(m.subject);
        self.body.push(m.body);
        self.key.push(key);
        self.priority.push(m.priority);
    }
}

pub(super) async fn insert(
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

pub(super) async fn update(
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

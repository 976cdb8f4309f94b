//! One page into Nightshift's rows, in two statements whatever its size: the
//! people it names, then its bugs and pull requests.
//!
//! People are GitHub logins. A login nobody has yet becomes a person (name =
//! login, engineer, no e-mail; `nightshift people import` adds the rest);
//! logins match case-insensitively, so `Alice` and `alice` are one person. A
//! login GitHub could not have issued (the `users.github_login` CHECK) names
//! nobody rather than failing the page.
//!
//! Per bug: the author is `creator_id`; the first assignee (`assignees`, else
//! `assignee`) is `assignee_id`; the other assignees join `followers`, which
//! keeps whoever escalation added, never lists a person twice and never
//! lists the assignee. The sync cannot tell who added a follower, so it never
//! removes one. Per pull request: the author is `author_id` (and `author`,
//! the login as text).
//!
//! Assignment rule: **GitHub wins whenever it names an assignee**, so a
//! reassignment there shows on the next sync. When GitHub names nobody, an
//! escalated bug (`escalation_level > 0`) keeps its assignee, because
//! escalation gives an unassigned critical bug to the project owner and a
//! breached bug must keep an owner; a bug never escalated becomes unassigned.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use nightshift_github::{Issue, User};
use sqlx::PgConnection;

use super::mapping::Mapping;

#[derive(Debug, Default, Clone, Copy)]
pub struct Stored {
    pub bugs: i64,
    pub pull_requests: i64,
    pub not_bugs: i64,
}

/// The login as GitHub spells it, when the `users.github_login` CHECK would
/// take it: letters, digits and hyphens, an optional `[bot]`, at most 44.
fn login(user: &User) -> Option<&str> {
    let l = user.login.as_str();
    let name = l.strip_suffix("[bot]").unwrap_or(l);
    let ok = l.len() <= 44
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(l)
}

/// Lower-cased, in order, each person once: the first is the assignee.
fn assignees(issue: &Issue) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in issue.assignee_list().into_iter().filter_map(login) {
        let l = l.to_lowercase();
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

fn author(issue: &Issue) -> Option<String> {
    issue.user.as_ref().and_then(login).map(str::to_lowercase)
}

/// Upserts one page. A bug's priority stays ours once it has been
/// escalated; a local `in_progress` survives an unchanged open state on
/// GitHub; revenue and SLA follow the labels (none: 0 and the default).
pub async fn store(
    conn: &mut PgConnection,
    project: i64,
    now: DateTime<Utc>,
    items: &[Issue],
    m: &Mapping,
) -> sqlx::Result<Stored> {
    let (prs, issues): (Vec<&Issue>, Vec<&Issue>) = items.iter().partition(|i| i.is_pull_request());
    let bugs: Vec<&Issue> = issues.iter().copied().filter(|i| m.is_bug(i)).collect();

    // Every login the rows name, once per person, spelled as first seen;
    // sorted so concurrent workers take the unique index in the same order.
    let mut people = BTreeMap::new();
    let named = bugs
        .iter()
        .flat_map(|i| i.assignee_list().into_iter().chain(&i.user));
    for l in named
        .chain(prs.iter().filter_map(|i| i.user.as_ref()))
        .filter_map(login)
    {
        people
            .entry(l.to_lowercase())
            .or_insert_with(|| l.to_owned());
    }
    if !people.is_empty() {
        sqlx::query!(
            "INSERT INTO users (name, github_login, role, created_at)
             SELECT l, l, 'engineer', $2 FROM UNNEST($1::text[]) AS l
             ON CONFLICT ((lower(github_login))) DO NOTHING",
            &people.values().cloned().collect::<Vec<_>>(),
            now,
        )
        .execute(&mut *conn)
        .await?;
    }

    // New bugs get their risk band at this clock as they are written, so the
    // first hourly run need not rewrite them (decision 73).
    sqlx::query!("SELECT assess_new_bugs_at($1)", now)
        .execute(&mut *conn)
        .await?;

    let sev: Vec<&str> = bugs.iter().map(|i| m.severity(i)).collect();
    let closed = |i: &Issue| i.state == "closed";
    let lists: Vec<Vec<String>> = bugs.iter().map(|i| assignees(i)).collect();
    let pr_state = |i: &Issue| match (&i.pull_request, i.state.as_str()) {
        (Some(pr), _) if pr.merged_at.is_some() => "merged",
        (_, "closed") => "closed",
        _ => "open",
    };
    // Followers travel as comma-joined logins (a login has no comma): UNNEST
    // cannot take a ragged array of arrays.
    sqlx::query!(
        r#"
        WITH people AS (
            SELECT id, lower(github_login) AS login FROM users WHERE lower(github_login) = ANY ($13::text[])
        ), page AS (
            SELECT x.*,
                   (SELECT id FROM people WHERE login = x.cr) AS creator,
                   (SELECT id FROM people WHERE login = x.asg[1]) AS assignee,
                   ARRAY(SELECT pe.id FROM unnest(x.asg[2:]) WITH ORDINALITY AS f(login, o)
                           JOIN people pe ON pe.login = f.login ORDER BY f.o) AS extra
              FROM UNNEST($2::int4[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::int8[],
                          $11::int4[], $12::text[], $14::text[])
                   AS y(n, t, s, p, st, c, u, r, rev, sla, cr, fl)
             CROSS JOIN LATERAL (SELECT y.*, string_to_array(y.fl, ',') AS asg) AS x
        ), stored_bugs AS (
            INSERT INTO bugs (project_id, external_source, external_number, title, severity, priority,
                              status, created_at, updated_at, resolved_at, revenue_impact_daily,
                              sla_hours, creator_id, assignee_id, followers)
            SELECT $1, 'github', n, t, s, p, st, c, u, r, rev / 100.0, sla, creator, assignee, extra
              FROM page
            ON CONFLICT (project_id, external_source, external_number) DO UPDATE
               SET title = EXCLUDED.title,
                   severity = EXCLUDED.severity,
                   priority = CASE WHEN bugs.escalation_level > 0 THEN bugs.priority ELSE EXCLUDED.priority END,
                   status = CASE WHEN EXCLUDED.status = 'closed' THEN 'closed'
                                 WHEN bugs.status IN ('open', 'in_progress') THEN bugs.status
                                 ELSE 'open' END,
                   resolved_at = EXCLUDED.resolved_at,
                   updated_at = EXCLUDED.updated_at,
                   revenue_impact_daily = EXCLUDED.revenue_impact_daily,
                   sla_hours = EXCLUDED.sla_hours,
                   creator_id = EXCLUDED.creator_id,
                   -- The assignment rule of the module comment; repeated in
                   -- followers, which must leave out the assignee it picks.
                   assignee_id = CASE WHEN EXCLUDED.assignee_id IS NOT NULL THEN EXCLUDED.assignee_id
                                      WHEN bugs.escalation_level > 0 THEN bugs.assignee_id END,
                   followers = ARRAY(
                       SELECT f FROM unnest(bugs.followers || EXCLUDED.followers) WITH ORDINALITY AS k(f, o)
                        WHERE f IS DISTINCT FROM
                              CASE WHEN EXCLUDED.assignee_id IS NOT NULL THEN EXCLUDED.assignee_id
                                   WHEN bugs.escalation_level > 0 THEN bugs.assignee_id END
                        GROUP BY f ORDER BY min(o))
            RETURNING 1
        ), stored_prs AS (
            INSERT INTO pull_requests (project_id, number, title, state, author, author_id, created_at,
                                       updated_at, merged_at, closed_at)
            SELECT $1, n, t, s, a, (SELECT id FROM people WHERE login = lower(a)), c, u, m, cl
              FROM UNNEST($15::int4[], $16::text[], $17::text[], $18::text[], $19::timestamptz[],
                          $20::timestamptz[], $21::timestamptz[], $22::timestamptz[])
                   AS z(n, t, s, a, c, u, m, cl)
            ON CONFLICT (project_id, number) DO UPDATE
               SET title = EXCLUDED.title, state = EXCLUDED.state, author = EXCLUDED.author,
                   author_id = EXCLUDED.author_id, updated_at = EXCLUDED.updated_at,
                   merged_at = EXCLUDED.merged_at, closed_at = EXCLUDED.closed_at
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM stored_bugs) AS "bugs!", (SELECT count(*) FROM stored_prs) AS "prs!"
        "#,
        project,
        &bugs.iter().map(|i| i.number).collect::<Vec<_>>(),
        &bugs.iter().map(|i| i.title.clone()).collect::<Vec<_>>(),
        &sev.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &bugs.iter().zip(&sev).map(|(i, s)| m.priority(i, s).to_string()).collect::<Vec<_>>(),
        &bugs.iter().map(|i| if closed(i) { "closed" } else { "open" }.to_string()).collect::<Vec<_>>(),
        &bugs.iter().map(|i| i.created_at).collect::<Vec<_>>(),
        &bugs.iter().map(|i| i.updated_at).collect::<Vec<_>>(),
        &bugs.iter().map(|i| if closed(i) { i.closed_at.or(Some(i.updated_at)) } else { None }).collect::<Vec<Option<DateTime<Utc>>>>() as &[Option<DateTime<Utc>>],
        &bugs.iter().map(|i| m.revenue_cents(i)).collect::<Vec<_>>(),
        &bugs.iter().map(|i| m.sla_hours(i)).collect::<Vec<Option<i32>>>() as &[Option<i32>],
        &bugs.iter().map(|i| author(i)).collect::<Vec<Option<String>>>() as &[Option<String>],
        &people.keys().cloned().collect::<Vec<_>>(),
        &lists.iter().map(|l| l.join(",")).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.number).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.title.clone()).collect::<Vec<_>>(),
        &prs.iter().map(|i| pr_state(i).to_string()).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.user.as_ref().map(|u| u.login.clone())).collect::<Vec<Option<String>>>() as &[Option<String>],
        &prs.iter().map(|i| i.created_at).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.updated_at).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.pull_request.as_ref().and_then(|p| p.merged_at)).collect::<Vec<Option<DateTime<Utc>>>>() as &[Option<DateTime<Utc>>],
        &prs.iter().map(|i| i.closed_at).collect::<Vec<Option<DateTime<Utc>>>>() as &[Option<DateTime<Utc>>],
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Stored {
        bugs: bugs.len() as i64,
        pull_requests: prs.len() as i64,
        not_bugs: (issues.len() - bugs.len()) as i64,
    })
}

//! From a GitHub issue to Nightshift's rows: severity and priority from labels,
//! bug or not (BUG_LABELS), pull request or issue, and the batched upserts.

use chrono::{DateTime, Utc};
use nightshift_core::Config;
use nightshift_github::Issue;
use sqlx::PgConnection;

/// Built-in label names per severity; SEVERITY_LABELS adds more.
const DEFAULTS: &[(&str, &str)] = &[
    ("severity:critical", "critical"),
    ("critical", "critical"),
    ("p0", "critical"),
    ("sev1", "critical"),
    ("severity:high", "high"),
    ("high", "high"),
    ("p1", "high"),
    ("sev2", "high"),
    ("severity:medium", "medium"),
    ("medium", "medium"),
    ("p2", "medium"),
    ("sev3", "medium"),
    ("severity:low", "low"),
    ("low", "low"),
    ("p3", "low"),
    ("sev4", "low"),
];
const RANK: [&str; 4] = ["critical", "high", "medium", "low"];

pub struct Mapping {
    severity: Vec<(String, String)>,
    bug_labels: Vec<String>,
}

impl Mapping {
    pub fn from_config(cfg: &Config) -> Self {
        let mut severity = cfg.severity_labels.clone();
        severity.extend(DEFAULTS.iter().map(|(l, s)| (l.to_string(), s.to_string())));
        Self {
            severity,
            bug_labels: cfg.bug_labels.clone(),
        }
    }

    fn labels(issue: &Issue) -> Vec<String> {
        issue
            .labels
            .iter()
            .map(|l| l.name().trim().to_lowercase())
            .collect()
    }

    /// The most severe level any label names; medium when none does.
    pub fn severity(&self, issue: &Issue) -> &'static str {
        let labels = Self::labels(issue);
        let found = labels
            .iter()
            .filter_map(|l| self.severity.iter().find(|(name, _)| name == l))
            .filter_map(|(_, sev)| RANK.iter().position(|r| r == sev))
            .min();
        RANK[found.unwrap_or(2)]
    }

    /// An explicit P0-P3 label wins; otherwise the priority follows severity.
    pub fn priority(&self, issue: &Issue, severity: &str) -> &'static str {
        let labels = Self::labels(issue);
        ["P0", "P1", "P2", "P3"]
            .into_iter()
            .find(|p| labels.iter().any(|l| l.eq_ignore_ascii_case(p)))
            .unwrap_or(match severity {
                "critical" => "P0",
                "high" => "P1",
                "medium" => "P2",
                _ => "P3",
            })
    }

    pub fn is_bug(&self, issue: &Issue) -> bool {
        self.bug_labels.is_empty()
            || Self::labels(issue)
                .iter()
                .any(|l| self.bug_labels.contains(l))
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Stored {
    pub bugs: i64,
    pub pull_requests: i64,
    pub not_bugs: i64,
}

/// Upserts one page: its bugs in one statement, its pull requests in another.
/// A bug's priority stays ours once it has been escalated; a local
/// `in_progress` survives an unchanged open state on GitHub.
pub async fn store(
    conn: &mut PgConnection,
    project: i64,
    items: &[Issue],
    m: &Mapping,
) -> sqlx::Result<Stored> {
    let (prs, issues): (Vec<&Issue>, Vec<&Issue>) = items.iter().partition(|i| i.is_pull_request());
    let bugs: Vec<&Issue> = issues.iter().copied().filter(|i| m.is_bug(i)).collect();
    let sev: Vec<&str> = bugs.iter().map(|i| m.severity(i)).collect();
    let closed = |i: &Issue| i.state == "closed";
    sqlx::query!(
        r#"
        INSERT INTO bugs (project_id, external_source, external_number, title, severity, priority,
                          status, created_at, updated_at, resolved_at)
        SELECT $1, 'github', n, t, s, p, st, c, u, r
          FROM UNNEST($2::int4[], $3::text[], $4::text[], $5::text[], $6::text[],
                      $7::timestamptz[], $8::timestamptz[], $9::timestamptz[]) AS x(n, t, s, p, st, c, u, r)
        ON CONFLICT (project_id, external_source, external_number) DO UPDATE
           SET title = EXCLUDED.title,
               severity = EXCLUDED.severity,
               priority = CASE WHEN bugs.escalation_level > 0 THEN bugs.priority ELSE EXCLUDED.priority END,
               status = CASE WHEN EXCLUDED.status = 'closed' THEN 'closed'
                             WHEN bugs.status IN ('open', 'in_progress') THEN bugs.status
                             ELSE 'open' END,
               resolved_at = EXCLUDED.resolved_at,
               updated_at = EXCLUDED.updated_at
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
    )
    .execute(&mut *conn)
    .await?;
    let state = |i: &Issue| match (&i.pull_request, i.state.as_str()) {
        (Some(pr), _) if pr.merged_at.is_some() => "merged",
        (_, "closed") => "closed",
        _ => "open",
    };
    sqlx::query!(
        r#"
        INSERT INTO pull_requests (project_id, number, title, state, author, created_at, updated_at,
                                   merged_at, closed_at)
        SELECT $1, n, t, s, a, c, u, m, cl
          FROM UNNEST($2::int4[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                      $7::timestamptz[], $8::timestamptz[], $9::timestamptz[]) AS x(n, t, s, a, c, u, m, cl)
        ON CONFLICT (project_id, number) DO UPDATE
           SET title = EXCLUDED.title, state = EXCLUDED.state, author = EXCLUDED.author,
               updated_at = EXCLUDED.updated_at, merged_at = EXCLUDED.merged_at,
               closed_at = EXCLUDED.closed_at
        "#,
        project,
        &prs.iter().map(|i| i.number).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.title.clone()).collect::<Vec<_>>(),
        &prs.iter().map(|i| state(i).to_string()).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.user.as_ref().map(|u| u.login.clone())).collect::<Vec<Option<String>>>() as &[Option<String>],
        &prs.iter().map(|i| i.created_at).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.updated_at).collect::<Vec<_>>(),
        &prs.iter().map(|i| i.pull_request.as_ref().and_then(|p| p.merged_at)).collect::<Vec<Option<DateTime<Utc>>>>() as &[Option<DateTime<Utc>>],
        &prs.iter().map(|i| i.closed_at).collect::<Vec<Option<DateTime<Utc>>>>() as &[Option<DateTime<Utc>>],
    )
    .execute(&mut *conn)
    .await?;
    Ok(Stored {
        bugs: bugs.len() as i64,
        pull_requests: prs.len() as i64,
        not_bugs: (issues.len() - bugs.len()) as i64,
    })
}

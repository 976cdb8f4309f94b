//! A recipient's notices as one message: sections in a fixed order (critical
//! alerts, escalations, breach risk, other alerts, what is due, backlog),
//! items most urgent first, a subject that counts them, and the status page.

use chrono::{DateTime, Utc};

use crate::notices::priority;

/// Items listed in one e-mail; the rest are counted and left to the status
/// page, so a digest stays readable (and under providers' size limits).
pub const MAX_EMAIL_ITEMS: usize = 200;
/// A Slack post is read at a glance: the first items and a count.
pub const MAX_SLACK_ITEMS: usize = 15;

#[derive(Clone, Debug)]
pub struct Item {
    pub id: i64,
    pub kind: String,
    pub urgency: i32,
    pub critical: bool,
    pub headline: String,
    pub details: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, PartialEq)]
pub struct Message {
    pub subject: String,
    pub body: String,
    pub priority: i16,
}

/// (title, the subject's word for one, for several) per section, in reading order.
const SECTIONS: [(&str, &str, &str); 6] = [
    ("Critical alerts", "critical alert", "critical alerts"),
    ("Escalations", "escalation", "escalations"),
    (
        "At risk of breaching the SLA",
        "bug at risk",
        "bugs at risk",
    ),
    ("Alerts", "alert", "alerts"),
    ("Due in the next 24 hours", "reminder", "reminders"),
    ("Backlog", "backlog summary", "backlog summaries"),
];

fn section(item: &Item) -> usize {
    match (item.kind.as_str(), item.critical) {
        ("alert", true) => 0,
        ("escalation", _) => 1,
        ("risk", _) => 2,
        ("alert", false) => 3,
        ("reminder", _) => 4,
        _ => 5,
    }
}

/// Items grouped by section, each group most urgent first.
fn grouped(items: &[Item]) -> Vec<Vec<&Item>> {
    let mut groups: Vec<Vec<&Item>> = vec![Vec::new(); SECTIONS.len()];
    for item in items {
        groups[section(item)].push(item);
    }
    for g in &mut groups {
        // Ties in urgency and time go by headline (it names the bug), not by
        // the order the notices happened to be written in: which items fit
        // under MAX_EMAIL_ITEMS must not depend on a scan order (issue 19).
        g.sort_by(|a, b| {
            (a.urgency, a.created_at, &a.headline, a.id).cmp(&(
                b.urgency,
                b.created_at,
                &b.headline,
                b.id,
            ))
        });
    }
    groups
}

fn counts(groups: &[Vec<&Item>]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .zip(SECTIONS)
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, (_, one, many))| match g.len() {
            1 => format!("1 {one}"),
            n => format!("{n} {many}"),
        })
        .collect();
    parts.join(", ")
}

fn priority_of(items: &[Item]) -> i16 {
    if items.iter().any(|i| i.critical) {
        priority::CRITICAL
    } else {
        priority::DIGEST
    }
}

/// One e-mail with every item (up to [`MAX_EMAIL_ITEMS`]).
pub fn email(name: Option<&str>, items: &[Item], status_url: Option<&str>) -> Message {
    let groups = grouped(items);
    let mut body = match name {
        Some(n) if !n.trim().is_empty() => format!("Hello {n},\n\n"),
        _ => "Hello,\n\n".to_owned(),
    };
    body.push_str(&match items.len() {
        1 => "One thing needs your attention.\n".to_owned(),
        n => format!("{n} things need your attention, most urgent first.\n"),
    });
    let mut listed = 0;
    for (group, (title, _, _)) in groups.iter().zip(SECTIONS) {
        if group.is_empty() || listed >= MAX_EMAIL_ITEMS {
            continue;
        }
        body.push_str(&format!("\n{} ({})\n", title.to_uppercase(), group.len()));
        for item in group.iter().take(MAX_EMAIL_ITEMS - listed) {
            body.push_str(&format!("- {}\n", item.headline));
            for line in item.details.lines().filter(|l| !l.trim().is_empty()) {
                body.push_str(&format!("  {line}\n"));
            }
            listed += 1;
        }
    }
    if listed < items.len() {
        body.push_str(&format!(
            "\n… and {} more, on the status page.\n",
            items.len() - listed
        ));
    }
    if let Some(url) = status_url {
        body.push_str(&format!("\nStatus page: {url}\n"));
    }
    body.push_str(
        "\nNightshift sends at most one digest per person per run; nothing in it is repeated \
         in the next one.\n",
    );
    Message {
        subject: format!("[Nightshift] {}", counts(&groups)),
        body,
        priority: priority_of(items),
    }
}

/// The team channel's one post per run: the count, the first items.
pub fn slack(items: &[Item]) -> Message {
    let groups = grouped(items);
    let ordered: Vec<&Item> = groups.iter().flatten().copied().collect();
    let mut body: String = ordered
        .iter()
        .take(MAX_SLACK_ITEMS)
        .map(|i| format!("• {}\n", i.headline))
        .collect();
    if ordered.len() > MAX_SLACK_ITEMS {
        body.push_str(&format!(
            "… and {} more on the status page\n",
            ordered.len() - MAX_SLACK_ITEMS
        ));
    }
    Message {
        subject: format!("Nightshift: {}", counts(&groups)),
        body,
        priority: priority_of(items),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, kind: &str, urgency: i32, critical: bool) -> Item {
        Item {
            id,
            kind: kind.into(),
            urgency,
            critical,
            headline: format!("{kind} {id}"),
            details: format!("line one of {id}\nline two"),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn sections_in_order_items_by_urgency() {
        let items = vec![
            item(1, "risk", 4002, false),
            item(2, "escalation", 1011, false),
            item(3, "alert", 0, true),
            item(4, "escalation", 1000, false),
            item(5, "risk", 2000, false),
        ];
        let m = email(Some("Mia"), &items, Some("https://ops.example.com/s"));
        assert_eq!(
            m.subject,
            "[Nightshift] 1 critical alert, 2 escalations, 2 bugs at risk"
        );
        assert_eq!(m.priority, priority::CRITICAL);
        let order: Vec<usize> = [
            "alert 3",
            "escalation 4",
            "escalation 2",
            "risk 5",
            "risk 1",
        ]
        .iter()
        .map(|h| m.body.find(&format!("- {h}\n")).expect(h))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", m.body);
        assert!(m.body.starts_with("Hello Mia,"));
        assert!(m.body.contains("  line two\n"));
        assert!(m.body.contains("Status page: https://ops.example.com/s\n"));
    }

    #[test]
    fn a_long_digest_lists_the_first_items_and_counts_the_rest() {
        let items: Vec<Item> = (0..250)
            .map(|i| item(i, "escalation", 1000, false))
            .collect();
        let m = email(None, &items, None);
        assert_eq!(m.body.matches("\n- escalation").count(), MAX_EMAIL_ITEMS);
        assert!(m.body.contains("… and 50 more, on the status page."));
        assert_eq!(m.priority, priority::DIGEST);
        assert_eq!(m.subject, "[Nightshift] 250 escalations");
    }

    #[test]
    fn slack_is_short() {
        let items: Vec<Item> = (0..20).map(|i| item(i, "alert", 3000, false)).collect();
        let m = slack(&items);
        assert_eq!(m.body.lines().count(), MAX_SLACK_ITEMS + 1);
        assert!(m.body.ends_with("… and 5 more on the status page\n"));
        assert_eq!(m.subject, "Nightshift: 20 alerts");
    }
}

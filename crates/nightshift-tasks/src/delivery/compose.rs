//! Turns an outbox row into what a transport sends. Rows carry their own
//! subject and text; a weekly report row points at its stored HTML and charts.

use anyhow::Context;
use nightshift_mail::{Email, InlineImage, SlackMessage};
use serde_json::json;
use sqlx::PgPool;

use super::outbox::Claimed;

pub async fn email(pool: &PgPool, row: &Claimed, from: &str) -> anyhow::Result<Email> {
    let mut email = Email {
        from: from.to_owned(),
        to: vec![row.recipient.clone()],
        subject: row.subject.clone(),
        text: row.body.clone(),
        html: None,
        inline: Vec::new(),
        idempotency_key: Some(row.dedupe_key.clone()),
    };
    if let Some(report_id) = row.report_id {
        let html = sqlx::query_scalar!("SELECT html FROM reports WHERE id = $1", report_id)
            .fetch_one(pool)
            .await
            .context("loading the report's HTML")?;
        email.html = Some(html);
        email.inline = sqlx::query_as!(
            InlineImage,
            "SELECT content_id, content_type, data FROM report_images WHERE report_id = $1
              ORDER BY content_id",
            report_id
        )
        .fetch_all(pool)
        .await
        .context("loading the report's charts")?;
    }
    Ok(email)
}

/// A message a person reads at a glance in a channel: what happened (the
/// subject), the details, and where to look.
pub fn slack(row: &Claimed, status_url: Option<&str>) -> SlackMessage {
    let mut blocks = vec![
        json!({ "type": "header",
                "text": { "type": "plain_text", "text": truncate(&row.subject, 150) } }),
        json!({ "type": "section",
                "text": { "type": "mrkdwn", "text": escape_mrkdwn(&truncate(&row.body, 2900)) } }),
    ];
    if let Some(url) = status_url {
        blocks.push(json!({ "type": "context", "elements": [
            { "type": "mrkdwn", "text": format!("<{url}|Open the status page> · {}", row.kind) }
        ]}));
    }
    SlackMessage {
        text: escape_mrkdwn(&truncate(&row.subject, 150)),
        blocks: Some(json!(blocks)),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Slack reads `<`, `>` and `&` as markup (links, mentions): a bug title
/// must not ping a channel or forge a link.
fn escape_mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_cannot_mention_or_link() {
        let row = Claimed {
            id: 1,
            kind: "alert".into(),
            recipient: "slack".into(),
            channel: "slack".into(),
            subject: "[CRITICAL] <!channel> down".into(),
            body: "see <https://evil.example|here> & more".into(),
            dedupe_key: "k".into(),
            attempts: 1,
            report_id: None,
            held_by: None,
        };
        let msg = slack(&row, Some("https://ops.example.com/api/status?format=html"));
        let blocks = msg.blocks.unwrap().to_string();
        assert!(blocks.contains("see &lt;https://evil.example|here&gt; &amp; more"));
        assert!(blocks.contains("<https://ops.example.com/api/status?format=html|Open"));
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}

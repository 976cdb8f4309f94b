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
                "text": { "type": "plain_text", "text": defuse(&truncate(&row.subject, 150)) } }),
        // verbatim: Slack links no bare URL, channel name or mention in it.
        json!({ "type": "section",
                "text": { "type": "mrkdwn", "verbatim": true,
                          "text": escape_mrkdwn(&truncate(&row.body, 2900)) } }),
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
/// must not ping a channel or forge a link. Escaping them is what Slack
/// documents; `defuse` covers what escaping cannot.
fn escape_mrkdwn(s: &str) -> String {
    defuse(
        &s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    )
}

/// U+2060 WORD JOINER: invisible, and it splits what Slack would otherwise
/// act on in text from outside (a GitHub title): the top-level `text` (the
/// notification) has no `verbatim`, and a workspace or webhook may parse
/// bare `@here` as a mention. Between `:` and `//` a URL is no longer linked or
/// unfurled; after `@` in `@here`/`@channel`/`@everyone` no mention; after
/// `*`, `_`, `~` or a backtick no emphasis or code; after `<` no `<!…>`
/// even where `<` is not read as an entity (the plain_text header).
fn defuse(s: &str) -> String {
    const WJ: char = '\u{2060}';
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        out.push(c);
        rest = &rest[c.len_utf8()..];
        let mention = c == '@'
            && ["here", "channel", "everyone"].iter().any(|w| {
                rest.get(..w.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(w))
            });
        let scheme = c == ':' && rest.starts_with("//");
        if mention || scheme || matches!(c, '*' | '_' | '~' | '`' | '<') {
            out.push(WJ);
        }
    }
    out
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
        let blocks = msg.blocks.unwrap();
        let body = blocks[1]["text"]["text"].as_str().unwrap();
        assert_eq!(blocks[1]["text"]["verbatim"], true);
        assert!(body.contains("see &lt;https:\u{2060}//evil.example|here&gt; &amp; more"));
        // Our own link stays a link.
        assert!(
            blocks
                .to_string()
                .contains("<https://ops.example.com/api/status?format=html|Open")
        );
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    /// A GitHub title made to ping, link and shout arrives as text: no
    /// `<…>` markup, no `://` Slack would link, no bare mention, no
    /// emphasis marker followed by text, in any of the three places.
    #[test]
    fn a_hostile_title_is_only_text() {
        let title = "x https://evil.example <https://evil|click> <!channel> <@U123> @here @Channel *bold* _i_ ~s~ `c`";
        let row = Claimed {
            id: 1,
            kind: "alert".into(),
            recipient: "slack".into(),
            channel: "slack".into(),
            subject: title.into(),
            body: format!("New bug: {title}"),
            dedupe_key: "k".into(),
            attempts: 1,
            report_id: None,
            held_by: None,
        };
        let msg = slack(&row, None);
        let blocks = msg.blocks.unwrap();
        for text in [
            msg.text.as_str(),
            blocks[0]["text"]["text"].as_str().unwrap(),
            blocks[1]["text"]["text"].as_str().unwrap(),
        ] {
            let bare = text.replace('\u{2060}', "");
            assert!(
                bare.contains("https://evil.example") && bare.contains("*bold*"),
                "{text}"
            );
            for danger in [
                "://", "<!", "<@", "<h", "@here", "@Channel", "*b", "_i", "~s", "`c",
            ] {
                assert!(!text.contains(danger), "{danger} in {text}");
            }
        }
    }
}

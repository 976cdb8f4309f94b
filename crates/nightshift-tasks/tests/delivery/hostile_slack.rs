//! A GitHub issue whose title is made to link, ping and shout goes the whole
//! way: github_sync stores it (from the replay server), escalations tells the
//! team channel, compose_digests writes the Slack post and
//! deliver_notifications sends it to a local HTTP server answering as a Slack
//! incoming webhook. What that server received reads as the title, and Slack
//! would find no link, mention or emphasis in it (issue 33).

use nightshift_tasks::daily::github_sync::GithubSync;
use nightshift_tasks::delivery::ComposeDigests;
use nightshift_tasks::hourly::escalations::Escalations;
use nightshift_testkit::{Canned, Replay};
use serde_json::{Value, json};

use super::*;

const TITLE: &str = "Login broken https://evil.example/login <https://evil.example|click here> \
                     <!channel> <@U123> @here *bold*";

/// Every string in a JSON value, keyed by where it is.
fn strings(v: &Value, at: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((at, s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                strings(x, format!("{at}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                strings(x, format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_hostile_github_title_reaches_slack_as_text(pool: PgPool) {
    let github = Replay::start().await;
    github.add(
        "/repos/acme/hostile/issues",
        None,
        Canned::json(
            200,
            json!([{
                "number": 7,
                "title": TITLE,
                "state": "open",
                "labels": [{ "name": "bug" }, { "name": "critical" }],
                "created_at": "2026-11-20T09:00:00Z",
                "updated_at": "2026-11-20T09:00:00Z",
                "closed_at": null,
                "user": { "login": "mallory", "type": "User" },
                "assignee": null,
                "assignees": [],
                "html_url": "https://github.com/acme/hostile/issues/7",
                "repository_url": format!("{}/repos/acme/hostile", github.url()),
            }]),
        ),
    );
    sqlx::query(
        "INSERT INTO projects (name, github_repo, sync_enabled, watched_since)
         VALUES ('Hostile', 'acme/hostile', true, $1)",
    )
    .bind(t0() - Duration::days(30))
    .execute(&pool)
    .await
    .unwrap();

    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T0/B0/hostile"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&hook)
        .await;
    let cfg = TasksConfig {
        github_api_url: github.url(),
        github_token: Some(SecretString::from("ghp_test".to_owned())),
        ..slack(format!("{}/services/T0/B0/hostile", hook.uri()))
    };

    let c = ctx_with_cfg(&pool, t0(), cfg.clone());
    let synced = GithubSync.run(&c).await.unwrap();
    assert_eq!(synced.details["bugs"], 1, "{}", synced.details);
    let stored: String = sqlx::query_scalar("SELECT title FROM bugs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, TITLE, "stored as GitHub sent it");
    let escalated = Escalations.run(&c).await.unwrap();
    assert_eq!(escalated.details["notices"], 1, "{}", escalated.details);
    ComposeDigests.run(&c).await.unwrap();
    let sent = deliver(&pool, t0(), &cfg).await;
    assert_eq!(sent.details["sent"], 1, "{}", sent.details);

    let got = hook.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    let body: Value = got[0].body_json().unwrap();
    let section = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "section")
        .unwrap_or_else(|| panic!("no section: {body}"));
    assert_eq!(section["text"]["type"], "mrkdwn", "{body}");
    assert_eq!(section["text"]["verbatim"], true, "{body}");
    let text = section["text"]["text"].as_str().unwrap();
    // Readable: without the invisible joiners and Slack's three entities it
    // is the title, word for word.
    let read = text
        .replace('\u{2060}', "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    assert!(read.contains(TITLE), "{text:?}");
    // mrkdwn: every `<` and `>` of the title arrives as an entity.
    assert!(
        !text.contains(['<', '>']) && text.contains("&lt;!channel&gt;"),
        "{text:?}"
    );

    // Nowhere in the post (text, header, section) is there markup Slack acts on.
    let mut all = Vec::new();
    strings(&body, String::new(), &mut all);
    assert!(all.iter().any(|(_, s)| s.contains("evil.example")));
    for (at, s) in &all {
        for danger in [
            "<!channel>",
            "<@U123>",
            "<https://",
            "https://",
            "@here",
            "*bold*",
            "*bold",
        ] {
            assert!(!s.contains(danger), "{danger:?} in {at}: {s:?}");
        }
    }
}

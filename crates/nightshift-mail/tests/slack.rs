//! The Slack webhook against a real HTTP server on loopback (wiremock).

mod common;

use std::time::Duration;

use nightshift_mail::DeliveryConfig;
use nightshift_mail::{SendError, Slack, SlackMessage};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOOK_PATH: &str = "/services/T000/B000/XXXXsecretXXXX";

fn slack(server: &MockServer) -> Slack {
    let cfg = DeliveryConfig {
        slack_webhook_url: Some(format!("{}{HOOK_PATH}", server.uri()).into()),
        ..DeliveryConfig::default()
    };
    Slack::from_config(&cfg, reqwest::Client::new()).expect("a webhook is configured")
}

fn message() -> SlackMessage {
    SlackMessage {
        text: "Weekly report: 3 failures".into(),
        blocks: Some(json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": "*3* tasks failed"}}
        ])),
    }
}

async fn answering(status: u16, body: &str, retry_after: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    let mut resp = ResponseTemplate::new(status).set_body_string(body);
    if let Some(secs) = retry_after {
        resp = resp.insert_header("retry-after", secs);
    }
    Mock::given(method("POST"))
        .respond_with(resp)
        .mount(&server)
        .await;
    server
}

#[test]
fn no_webhook_no_slack() {
    assert!(Slack::from_config(&DeliveryConfig::default(), reqwest::Client::new()).is_none());
}

#[tokio::test]
async fn posts_text_and_blocks_to_the_webhook() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "text": "Weekly report: 3 failures",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*3* tasks failed"}}],
        })))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    slack(&server).post(&message()).await.unwrap();

    // Without blocks the key is left out rather than sent as null.
    let server = answering(200, "ok", None).await;
    let plain = SlackMessage {
        text: "hi".into(),
        blocks: None,
    };
    slack(&server).post(&plain).await.unwrap();
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent, json!({"text": "hi"}));
}

#[tokio::test]
async fn rate_limits_and_outages_are_transient() {
    let server = answering(429, "rate_limited", Some("12")).await;
    match slack(&server).post(&message()).await.unwrap_err() {
        SendError::Transient { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(12)))
        }
        other => panic!("{other:?}"),
    }
    for status in [500, 503] {
        let server = answering(status, "", None).await;
        let e = slack(&server).post(&message()).await.unwrap_err();
        assert!(
            matches!(
                e,
                SendError::Transient {
                    retry_after: None,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn refusals_are_permanent_with_slacks_reason_and_no_url() {
    for (status, reason) in [
        (400, "invalid_payload"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ] {
        let server = answering(status, reason, None).await;
        let e = slack(&server).post(&message()).await.unwrap_err();
        assert!(e.is_permanent(), "{status}: {e:?}");
        assert_eq!(e.to_string(), format!("slack: HTTP {status}: {reason}"));
    }
}

#[tokio::test]
async fn a_revoked_webhook_refuses_the_channel_not_the_message() {
    for status in [401, 403] {
        let server = answering(status, "invalid_token", None).await;
        let e = slack(&server).post(&message()).await.unwrap_err();
        assert!(
            matches!(
                e,
                SendError::AuthRefused {
                    variable: "SLACK_WEBHOOK_URL",
                    ..
                }
            ),
            "{status}: {e:?}"
        );
        assert!(!e.is_permanent());
    }
}

#[tokio::test]
async fn an_unreachable_webhook_is_transient_and_keeps_the_url_secret() {
    let cfg = DeliveryConfig {
        slack_webhook_url: Some(format!("{}{HOOK_PATH}", common::dead_url()).into()),
        ..DeliveryConfig::default()
    };
    let hook = Slack::from_config(&cfg, reqwest::Client::new()).unwrap();
    let e = hook.post(&message()).await.unwrap_err();
    assert!(matches!(e, SendError::Transient { .. }), "{e:?}");
    assert!(!e.to_string().contains("secret"), "{e}");
    assert!(!format!("{hook:?}").contains("secret"));
}

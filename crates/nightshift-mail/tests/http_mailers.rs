//! Resend and SendGrid against a real HTTP server on loopback (wiremock):
//! the request they make and how they read each kind of answer.

mod common;

use std::time::Duration;

use nightshift_mail::{DeliveryConfig, EmailTransportKind};
use nightshift_mail::{Email, Mailer, SendError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "re_test_key_123";

fn resend(server: &MockServer) -> Mailer {
    resend_at(server.uri())
}

/// Resend's transport against any API address.
fn resend_at(api_url: String) -> Mailer {
    let cfg = DeliveryConfig {
        resend_api_key: Some(KEY.into()),
        resend_api_url: api_url,
        email_from: Some("ops@example.com".into()),
        ..DeliveryConfig::default()
    };
    let m = Mailer::from_config(&cfg, reqwest::Client::new())
        .unwrap()
        .unwrap();
    assert_eq!(m.kind(), EmailTransportKind::Resend);
    m
}

fn sendgrid(server: &MockServer) -> Mailer {
    let cfg = DeliveryConfig {
        sendgrid_api_key: Some(KEY.into()),
        sendgrid_api_url: server.uri(),
        email_from: Some("ops@example.com".into()),
        ..DeliveryConfig::default()
    };
    let m = Mailer::from_config(&cfg, reqwest::Client::new())
        .unwrap()
        .unwrap();
    assert_eq!(m.kind(), EmailTransportKind::SendGrid);
    m
}

async fn only_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    serde_json::from_slice(&requests[0].body).unwrap()
}

/// Answers every request with `status`, `body` and, when given, Retry-After.
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

fn assert_transient(e: &SendError, retry: Option<Duration>) {
    match e {
        SendError::Transient { retry_after, .. } => assert_eq!(*retry_after, retry, "{e}"),
        other => panic!("expected transient, got {other:?}"),
    }
}

#[test]
fn no_transport_configured_is_none() {
    let cfg = DeliveryConfig::default();
    assert!(
        Mailer::from_config(&cfg, reqwest::Client::new())
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn resend_posts_the_message_with_the_inline_chart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(header("idempotency-key", "report:2026-W48:cto@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "49a3999c-0ce1"})))
        .expect(1)
        .mount(&server)
        .await;

    let accepted = resend(&server).send(&common::report_email()).await.unwrap();
    assert_eq!(accepted.provider_id.as_deref(), Some("49a3999c-0ce1"));

    let body = only_body(&server).await;
    assert_eq!(
        body,
        json!({
            "from": "Nightshift <ops@example.com>",
            "to": ["cto@example.com", "Jane Doe <jane@example.org>"],
            "subject": "Weekly report: 3 failures",
            "text": "3 tasks failed this week.",
            "html": r#"<p>3 tasks failed this week.</p><img src="cid:chart-1" alt="chart">"#,
            "attachments": [{
                "content": common::PNG_B64,
                "filename": "chart-1.png",
                "content_type": "image/png",
                "content_id": "chart-1",
            }],
        })
    );
}

#[tokio::test]
async fn resend_text_only_sends_no_html_and_no_attachments() {
    let server = answering(200, r#"{"id":"x"}"#, None).await;
    resend(&server).send(&common::text_email()).await.unwrap();
    let body = only_body(&server).await;
    assert!(
        body.get("html").is_none() && body.get("attachments").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn resend_errors_are_classified() {
    let server = answering(
        429,
        r#"{"statusCode":429,"message":"Too many requests","name":"rate_limit_exceeded"}"#,
        Some("7"),
    )
    .await;
    let e = resend(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert_transient(&e, Some(Duration::from_secs(7)));

    let server = answering(
        500,
        r#"{"statusCode":500,"message":"Internal","name":"internal_server_error"}"#,
        None,
    )
    .await;
    let e = resend(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert_transient(&e, None);

    let server = answering(422, r#"{"statusCode":422,"message":"Invalid `to` field. The email address needs to follow the `email@example.com` format.","name":"validation_error"}"#, None).await;
    let e = resend(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert!(e.is_permanent(), "{e:?}");
    assert_eq!(
        e.to_string(),
        "resend: HTTP 422: Invalid `to` field. The email address needs to follow the `email@example.com` format."
    );

    let server = answering(
        401,
        r#"{"statusCode":401,"message":"API key is invalid","name":"validation_error"}"#,
        None,
    )
    .await;
    let e = resend(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            SendError::AuthRefused {
                variable: "RESEND_API_KEY",
                ..
            }
        ),
        "a refused key is the channel's failure: {e:?}"
    );
    assert!(!e.to_string().contains(KEY), "{e}");
}

#[tokio::test]
async fn sendgrid_posts_personalizations_content_and_inline_attachments() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(202).insert_header("x-message-id", "sg-abc.123"))
        .expect(1)
        .mount(&server)
        .await;

    let accepted = sendgrid(&server)
        .send(&common::report_email())
        .await
        .unwrap();
    assert_eq!(accepted.provider_id.as_deref(), Some("sg-abc.123"));

    let body = only_body(&server).await;
    assert_eq!(
        body,
        json!({
            "personalizations": [{"to": [
                {"email": "cto@example.com"},
                {"email": "jane@example.org", "name": "Jane Doe"},
            ]}],
            "from": {"email": "ops@example.com", "name": "Nightshift"},
            "subject": "Weekly report: 3 failures",
            "content": [
                {"type": "text/plain", "value": "3 tasks failed this week."},
                {"type": "text/html", "value": r#"<p>3 tasks failed this week.</p><img src="cid:chart-1" alt="chart">"#},
            ],
            "attachments": [{
                "content": common::PNG_B64,
                "type": "image/png",
                "filename": "chart-1.png",
                "disposition": "inline",
                "content_id": "chart-1",
            }],
        })
    );
}

#[tokio::test]
async fn sendgrid_errors_are_classified() {
    let server = answering(429, "", Some("30")).await;
    let e = sendgrid(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert_transient(&e, Some(Duration::from_secs(30)));

    let server = answering(503, "<html>upstream</html>", None).await;
    let e = sendgrid(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert_transient(&e, None);

    let server = answering(
        400,
        r#"{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email","help":"http://sendgrid.com/docs"}]}"#,
        None,
    )
    .await;
    let e = sendgrid(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert!(e.is_permanent(), "{e:?}");
    assert_eq!(
        e.to_string(),
        "sendgrid: HTTP 400: Does not contain a valid address."
    );

    let server = answering(404, "", None).await;
    let e = sendgrid(&server)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert!(e.is_permanent(), "{e:?}");
}

#[tokio::test]
async fn a_provider_that_is_not_there_is_transient() {
    let cfg = DeliveryConfig {
        resend_api_key: Some(KEY.into()),
        resend_api_url: common::dead_url(),
        email_from: Some("ops@example.com".into()),
        ..DeliveryConfig::default()
    };
    let mailer = Mailer::from_config(&cfg, reqwest::Client::new())
        .unwrap()
        .unwrap();
    let e = mailer.send(&common::text_email()).await.unwrap_err();
    assert_transient(&e, None);
    assert!(e.to_string().contains("could not connect"), "{e}");
}

#[tokio::test]
async fn bad_addresses_never_reach_the_api() {
    let server = answering(200, r#"{"id":"x"}"#, None).await;
    let bad = Email {
        from: "Ops <nobody>".into(),
        ..common::text_email()
    };
    for mailer in [resend(&server), sendgrid(&server)] {
        let e = mailer.send(&bad).await.unwrap_err();
        assert!(e.is_permanent(), "{e:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A provider whose error body never ends (a broken proxy, a hostile
/// endpoint): the transport reads a bounded prefix and answers at once,
/// naming what it read, instead of buffering until the request's timeout.
#[tokio::test]
async fn an_endless_error_body_is_read_up_to_a_bound() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 16 * 1024];
        let _ = sock.read(&mut request).await;
        let head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n";
        sock.write_all(head.as_bytes()).await.unwrap();
        let line = [b"quota exceeded; ".as_slice(); 64].concat();
        // Bounded: 1 GiB at most, ended as soon as the client hangs up.
        for _ in 0..(1 << 30) / line.len() {
            if sock.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    let e = resend_at(url)
        .send(&common::text_email())
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("HTTP 503: quota exceeded; quota"),
        "{e}"
    );
    assert_transient(&e, None);
}

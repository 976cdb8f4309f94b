//! The SMTP transport against a real SMTP server in this process
//! (testkit's `SmtpSink`), with the received MIME parsed back.

mod common;

use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use nightshift_mail::transport::SmtpMailer;
use nightshift_mail::{DeliveryConfig, EmailTransportKind};
use nightshift_mail::{Email, Mailer, SendError};
use nightshift_testkit::smtp::SmtpSink;

/// Straight from a URL, without the rest of the settings.
fn smtp(url: &str) -> Mailer {
    Mailer::Smtp(SmtpMailer::from_url(url).unwrap())
}

fn mailer_for(sink: &SmtpSink) -> Mailer {
    let cfg = DeliveryConfig {
        smtp_url: Some(sink.url().into()),
        email_from: Some("ops@example.com".into()),
        ..DeliveryConfig::default()
    };
    let mailer = Mailer::from_config(&cfg, reqwest::Client::new())
        .unwrap()
        .expect("an SMTP URL selects the SMTP transport");
    assert_eq!(mailer.kind(), EmailTransportKind::Smtp);
    mailer
}

#[tokio::test]
async fn the_report_arrives_as_text_html_and_an_inline_png() {
    let sink = SmtpSink::start().await.unwrap();
    let accepted = mailer_for(&sink)
        .send(&common::report_email())
        .await
        .unwrap();
    assert_eq!(
        accepted.provider_id.as_deref(),
        Some("OK: queued as SINK0001"),
        "the server's final reply is the provider id"
    );

    let received = sink.messages();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.from, "ops@example.com");
    assert_eq!(mail.to, ["cto@example.com", "jane@example.org"]);

    let msg = MessageParser::default()
        .parse(&mail.data)
        .expect("parsable MIME");
    assert_eq!(msg.subject(), Some("Weekly report: 3 failures"));
    assert_eq!(
        msg.from().unwrap().first().unwrap().address(),
        Some("ops@example.com")
    );
    let root = msg.content_type().unwrap();
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );

    // alternative(text, related(html, png))
    let PartType::Multipart(children) = &msg.parts[0].body else {
        panic!("the root is not multipart");
    };
    let kinds: Vec<String> = children
        .iter()
        .map(|&i| {
            let ct = msg.parts[i as usize].content_type().unwrap();
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
        })
        .collect();
    assert_eq!(kinds, ["text/plain", "multipart/related"]);

    assert_eq!(
        msg.body_text(0).unwrap().trim(),
        "3 tasks failed this week."
    );
    let html = msg.body_html(0).unwrap();
    assert!(html.contains(r#"<img src="cid:chart-1""#), "{html}");

    let images: Vec<_> = msg
        .attachments()
        .filter(|p| p.content_type().is_some_and(|ct| ct.ctype() == "image"))
        .collect();
    assert_eq!(images.len(), 1);
    let png = images[0];
    assert_eq!(png.content_type().unwrap().subtype(), Some("png"));
    assert_eq!(
        png.content_id().map(|c| c.trim_matches(['<', '>'])),
        Some("chart-1")
    );
    assert!(png.content_disposition().unwrap().is_inline());
    assert_eq!(png.contents(), common::png());
}

#[tokio::test]
async fn text_only_is_a_single_plain_part_and_html_alone_is_an_alternative() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = mailer_for(&sink);
    mailer.send(&common::text_email()).await.unwrap();
    let html_only = Email {
        html: Some("<p>Hi</p>".into()),
        ..common::text_email()
    };
    mailer.send(&html_only).await.unwrap();

    let received = sink.messages();
    let plain = MessageParser::default().parse(&received[0].data).unwrap();
    let ct = plain.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(plain.body_text(0).unwrap().trim(), "Just text.");

    let alt = MessageParser::default().parse(&received[1].data).unwrap();
    assert_eq!(alt.content_type().unwrap().subtype(), Some("alternative"));
    assert_eq!(alt.body_text(0).unwrap().trim(), "Just text.");
    assert!(alt.body_html(0).unwrap().contains("<p>Hi</p>"));
    assert_eq!(alt.attachment_count(), 0);
}

#[tokio::test]
async fn a_temporary_refusal_is_transient_and_a_final_one_permanent() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = mailer_for(&sink);

    sink.reject_data(451, "4.3.0 Try again later");
    let e = mailer.send(&common::text_email()).await.unwrap_err();
    assert!(matches!(e, SendError::Transient { .. }), "{e:?}");
    assert!(e.to_string().contains("Try again later"), "{e}");

    sink.accept_all();
    sink.reject_rcpt(550, "5.1.1 <cto@example.com>: Recipient address rejected");
    let e = mailer.send(&common::text_email()).await.unwrap_err();
    assert!(e.is_permanent(), "{e:?}");
    assert!(
        e.to_string()
            .contains("<c***@example.com>: Recipient address rejected"),
        "the reply is kept, the address masked: {e}"
    );

    sink.accept_all();
    sink.reject_data(554, "5.7.1 Message rejected as spam");
    let e = mailer.send(&common::text_email()).await.unwrap_err();
    assert!(e.is_permanent(), "{e:?}");

    assert!(sink.messages().is_empty());
    sink.accept_all();
    mailer.send(&common::text_email()).await.unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn nobody_listening_is_transient() {
    let port = nightshift_testkit::free_port();
    let mailer = smtp(&format!("smtp://127.0.0.1:{port}"));
    let e = mailer.send(&common::text_email()).await.unwrap_err();
    assert!(matches!(e, SendError::Transient { .. }), "{e:?}");
}

#[tokio::test]
async fn a_server_that_never_greets_times_out_as_transient() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", silent.local_addr().unwrap());
    let mailer = Mailer::Smtp(
        SmtpMailer::from_url(&url)
            .unwrap()
            .with_send_timeout(Duration::from_millis(500)),
    );
    let e = mailer.send(&common::text_email()).await.unwrap_err();
    assert!(matches!(e, SendError::Transient { .. }), "{e:?}");
    assert!(e.to_string().contains("no answer"), "{e}");
    drop(silent);
}

#[tokio::test]
async fn an_unparsable_address_is_permanent_before_any_connection() {
    let sink = SmtpSink::start().await.unwrap();
    let bad = Email {
        to: vec!["not an address".into()],
        ..common::text_email()
    };
    let e = mailer_for(&sink).send(&bad).await.unwrap_err();
    assert!(e.is_permanent(), "{e:?}");
    let e = mailer_for(&sink)
        .send(&Email {
            to: vec![],
            ..common::text_email()
        })
        .await
        .unwrap_err();
    assert!(e.is_permanent(), "{e:?}");
}

#[tokio::test]
async fn starttls_is_required_for_remote_hosts() {
    // The sink offers no STARTTLS; `?tls=required` makes a loopback URL
    // behave like a remote one, so the send must refuse to go on in clear.
    let sink = SmtpSink::start().await.unwrap();
    let url = format!("{}?tls=required", sink.url());
    let mailer = smtp(&url);
    let e = mailer.send(&common::text_email()).await.unwrap_err();
    assert!(
        !e.is_permanent(),
        "a settings problem must not drop the message: {e:?}"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn credentials_are_percent_decoded_and_refused_ones_refuse_the_channel() {
    let sink = SmtpSink::start().await.unwrap();
    sink.require_auth("apikey", "p@ss/word");
    let port = sink.addr().port();

    let good = smtp(&format!("smtp://apikey:p%40ss%2Fword@127.0.0.1:{port}"));
    good.send(&common::text_email()).await.unwrap();
    assert_eq!(sink.messages().len(), 1);

    let bad = smtp(&format!("smtp://apikey:wrong@127.0.0.1:{port}"));
    let e = bad.send(&common::text_email()).await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::AuthRefused {
                variable: "SMTP_URL",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("535"), "{e}");
    assert!(!e.to_string().contains("wrong"), "{e}");
    assert_eq!(sink.messages().len(), 1);
}

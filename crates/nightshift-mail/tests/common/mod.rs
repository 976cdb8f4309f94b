//! What the transport tests send: the shape of the weekly report, a text
//! part, an HTML part and one inline chart referenced by Content-ID.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use nightshift_mail::{Email, InlineImage};

/// A real 1x1 PNG, so a parser that checks image data has something valid.
pub const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

pub fn png() -> Vec<u8> {
    BASE64.decode(PNG_B64).unwrap()
}

pub fn report_email() -> Email {
    Email {
        from: "Nightshift <ops@example.com>".into(),
        to: vec![
            "cto@example.com".into(),
            "Jane Doe <jane@example.org>".into(),
        ],
        subject: "Weekly report: 3 failures".into(),
        text: "3 tasks failed this week.".into(),
        html: Some(r#"<p>3 tasks failed this week.</p><img src="cid:chart-1" alt="chart">"#.into()),
        inline: vec![InlineImage {
            content_id: "chart-1".into(),
            content_type: "image/png".into(),
            data: png(),
        }],
        idempotency_key: Some("report:2026-W48:cto@example.com".into()),
    }
}

pub fn text_email() -> Email {
    Email {
        from: "ops@example.com".into(),
        to: vec!["cto@example.com".into()],
        subject: "Plain".into(),
        text: "Just text.".into(),
        ..Email::default()
    }
}

/// A loopback URL nothing listens on. (A dropped wiremock server goes back
/// to wiremock's pool and keeps answering, so it cannot play this part.)
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}", nightshift_testkit::free_port())
}

//! The SMTP sink spoken to by hand, line by line, so its own behaviour is
//! pinned down independently of any SMTP client library.

use nightshift_testkit::smtp::{ReceivedMail, SmtpSink};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

async fn read_reply(read: &mut BufReader<OwnedReadHalf>) -> String {
    loop {
        let mut line = String::new();
        read.read_line(&mut line).await.unwrap();
        // `250-...` continues a multi-line reply, `250 ...` ends it.
        if line.as_bytes().get(3) != Some(&b'-') {
            return line.trim_end().to_owned();
        }
    }
}

/// Sends `lines` one at a time and returns the status line answering each
/// (the last line of a multi-line reply); `None` for lines with no answer.
async fn converse(sink: &SmtpSink, lines: &[&str]) -> Vec<Option<String>> {
    let stream = TcpStream::connect(sink.addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    assert!(read_reply(&mut read).await.starts_with("220"));
    let mut replies = Vec::new();
    let mut in_data = false;
    for line in lines {
        write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        if in_data && *line != "." {
            replies.push(None);
            continue;
        }
        let r = read_reply(&mut read).await;
        in_data = r.starts_with("354");
        replies.push(Some(r));
    }
    replies
}

fn code(r: &Option<String>) -> &str {
    &r.as_deref().unwrap()[..3]
}

#[tokio::test]
async fn keeps_envelope_and_unstuffed_data() {
    let sink = SmtpSink::start().await.unwrap();
    assert_eq!(
        sink.url(),
        format!("smtp://127.0.0.1:{}", sink.addr().port())
    );
    let r = converse(
        &sink,
        &[
            "EHLO test",
            "MAIL FROM:<a@example.com>",
            "RCPT TO:<b@example.com>",
            "RCPT TO:<c@example.com>",
            "DATA",
            "Subject: hi",
            "",
            "..leading dot",
            ".",
            "QUIT",
        ],
    )
    .await;
    assert_eq!(r[8].as_deref(), Some("250 OK: queued as SINK0001"));
    assert_eq!(code(&r[9]), "221");
    assert_eq!(
        sink.messages(),
        [ReceivedMail {
            from: "a@example.com".into(),
            to: vec!["b@example.com".into(), "c@example.com".into()],
            data: b"Subject: hi\r\n\r\n.leading dot\r\n".to_vec(),
        }]
    );
}

#[tokio::test]
async fn refuses_rcpt_or_data_with_the_given_code() {
    let sink = SmtpSink::start().await.unwrap();
    sink.reject_rcpt(550, "5.1.1 no such user");
    let r = converse(
        &sink,
        &[
            "HELO t",
            "MAIL FROM:<a@example.com>",
            "RCPT TO:<b@example.com>",
            "QUIT",
        ],
    )
    .await;
    assert_eq!(r[2].as_deref(), Some("550 5.1.1 no such user"));

    sink.accept_all();
    sink.reject_data(451, "4.3.0 later");
    let r = converse(
        &sink,
        &[
            "HELO t",
            "MAIL FROM:<a@example.com>",
            "RCPT TO:<b@example.com>",
            "DATA",
            "QUIT",
        ],
    )
    .await;
    assert_eq!(r[3].as_deref(), Some("451 4.3.0 later"));
    assert_eq!(code(&r[4]), "221");
    assert!(sink.messages().is_empty());
}

//! SMTP through lettre. One connection per send: the functions run for
//! seconds at a time, so a pool would only hold sockets the platform freezes.

use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use url::{Host, Url};

use super::{MailerConfigError, parse_mailbox, permanent, recipients, transient};
use crate::message::{Accepted, Email, SendError};

/// Bounds the TCP (and TLS) connect, which is all lettre's async client
/// times out by itself.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bounds the whole transaction, since a server that accepts the
/// connection and then stalls would otherwise hang the send forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(45);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// For logs and errors only; the URL itself may hold a password.
    server: String,
    send_timeout: Duration,
}

/// Which kind of connection an SMTP URL asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `smtp://`: STARTTLS, and refuse to go on without it.
    StartTls,
    /// Loopback or `?tls=none`: a local catcher that has no certificate.
    Plain,
}

struct SmtpUrl {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
}

fn config_error(reason: impl Into<String>) -> MailerConfigError {
    MailerConfigError {
        name: "SMTP_URL",
        reason: reason.into(),
    }
}

fn decode(part: &str) -> Result<String, MailerConfigError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| config_error("the credentials are not valid percent-encoded UTF-8"))
}

/// Errors never quote the URL: it carries the password.
fn parse_url(raw: &str) -> Result<SmtpUrl, MailerConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| config_error(format!("not a URL ({e})")))?;
    let host = url.host().ok_or_else(|| config_error("has no host"))?;
    // smtp is not one of the URL standard's special schemes, so its hosts
    // stay opaque text: `127.0.0.1` arrives as a domain, not an address.
    let loopback = match &host {
        Host::Domain(d) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    let host = match host {
        Host::Domain(d) => d.to_owned(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_ascii_lowercase());
    let (security, default_port) = match (url.scheme(), tls.as_deref()) {
        ("smtps", None) => (Security::Implicit, 465),
        ("smtps", Some(_)) => return Err(config_error("smtps:// is always TLS; drop ?tls=")),
        ("smtp", Some("none")) => (Security::Plain, 587),
        ("smtp", Some("required" | "starttls")) => (Security::StartTls, 587),
        ("smtp", None) if loopback => (Security::Plain, 587),
        ("smtp", None) => (Security::StartTls, 587),
        ("smtp", Some(other)) => {
            return Err(config_error(format!(
                "tls={other} is not one of none, required"
            )));
        }
        (other, _) => {
            return Err(config_error(format!(
                "scheme {other}:// is not smtp or smtps"
            )));
        }
    };
    let credentials = if url.username().is_empty() {
        None
    } else {
        let user = decode(url.username())?;
        let pass = decode(url.password().unwrap_or_default())?;
        Some(Credentials::new(user, pass))
    };
    Ok(SmtpUrl {
        host,
        port: url.port().unwrap_or(default_port),
        security,
        credentials,
    })
}

impl SmtpMailer {
    /// `smtp://user:pass@host:587` (STARTTLS required), `smtps://host:465`
    /// (implicit TLS), plain only for loopback hosts or with `?tls=none`.
    pub fn from_url(raw: &str) -> Result<SmtpMailer, MailerConfigError> {
        let url = parse_url(raw)?;
        let tls_params = || {
            TlsParameters::new(url.host.clone())
                .map_err(|e| config_error(format!("TLS setup for {} failed: {e}", url.host)))
        };
        let tls = match url.security {
            Security::Implicit => Tls::Wrapper(tls_params()?),
            Security::StartTls => Tls::Required(tls_params()?),
            Security::Plain => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.as_str())
                .port(url.port)
                .tls(tls)
                .timeout(Some(CONNECT_TIMEOUT));
        if let Some(credentials) = url.credentials {
            builder = builder.credentials(credentials);
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            server: format!("{}:{}", url.host, url.port),
            send_timeout: SEND_TIMEOUT,
        })
    }

    /// Replaces the bound on one whole send (45 s by default).
    pub fn with_send_timeout(mut self, timeout: Duration) -> SmtpMailer {
        self.send_timeout = timeout;
        self
    }

    /// Through [`super::Mailer::send`], which logs and masks addresses.
    pub(super) async fn send(&self, email: &Email) -> Result<Accepted, SendError> {
        let message = build_message(email)?;
        let sent = tokio::time::timeout(self.send_timeout, self.transport.send(message)).await;
        match sent {
            Err(_) => Err(transient(
                format!(
                    "smtp {}: no answer within {:?}",
                    self.server, self.send_timeout
                ),
                None,
            )),
            Ok(Err(e)) => Err(classify(&self.server, &e)),
            Ok(Ok(response)) => {
                let reply = response.message().collect::<Vec<_>>().join(" ");
                let reply = reply.trim();
                Ok(Accepted {
                    provider_id: (!reply.is_empty()).then(|| reply.to_owned()),
                })
            }
        }
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// 5xx is the server's final word on this message (a refused mailbox, a bad
/// address, refused credentials); everything else, 4xx included, may pass
/// on another attempt or once the settings are fixed.
fn classify(server: &str, e: &lettre::transport::smtp::Error) -> SendError {
    let message = format!("smtp {server}: {e}");
    // 530 authentication required, 534 mechanism too weak, 535 credentials
    // invalid: the account in SMTP_URL, not this message.
    let code = e.status().map(|c| c.to_string());
    if matches!(code.as_deref(), Some("530" | "534" | "535")) {
        return SendError::AuthRefused {
            variable: "SMTP_URL",
            message,
        };
    }
    if e.is_permanent() {
        permanent(message)
    } else {
        transient(message, None)
    }
}

/// text only: text/plain. With HTML: multipart/alternative(text, html).
/// With inline images: alternative(text, related(html, images...)), so the
/// images travel with the HTML that refers to them by Content-ID.
pub(crate) fn build_message(email: &Email) -> Result<Message, SendError> {
    let mut builder = Message::builder()
        .from(parse_mailbox("from", &email.from)?)
        .subject(email.subject.as_str());
    for to in recipients(email)? {
        builder = builder.to(to);
    }
    let text = SinglePart::plain(email.text.clone());
    let built = match &email.html {
        None => builder.singlepart(text),
        Some(html) if email.inline.is_empty() => builder.multipart(
            MultiPart::alternative_plain_html(email.text.clone(), html.clone()),
        ),
        Some(html) => {
            let mut related = MultiPart::related().singlepart(SinglePart::html(html.clone()));
            for image in &email.inline {
                let content_type = ContentType::parse(&image.content_type).map_err(|_| {
                    permanent(format!(
                        "inline image {}: bad content type {:?}",
                        image.content_id, image.content_type
                    ))
                })?;
                related = related.singlepart(
                    Attachment::new_inline(image.content_id.clone())
                        .body(image.data.clone(), content_type),
                );
            }
            builder.multipart(MultiPart::alternative().singlepart(text).multipart(related))
        }
    };
    built.map_err(|e| permanent(format!("cannot build the message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(url: &str) -> Security {
        parse_url(url).unwrap().security
    }

    #[test]
    fn the_url_decides_tls() {
        assert_eq!(
            security("smtp://u:p@mail.example.com:587"),
            Security::StartTls
        );
        assert_eq!(security("smtps://mail.example.com"), Security::Implicit);
        assert_eq!(security("smtp://localhost:1025"), Security::Plain);
        assert_eq!(security("smtp://127.0.0.1:1025"), Security::Plain);
        assert_eq!(security("smtp://[::1]:1025"), Security::Plain);
        assert_eq!(security("smtp://mailpit:1025?tls=none"), Security::Plain);
        assert_eq!(
            security("smtp://localhost:587?tls=required"),
            Security::StartTls
        );
        assert_eq!(parse_url("smtps://mail.example.com").unwrap().port, 465);
        assert_eq!(parse_url("smtp://mail.example.com").unwrap().port, 587);
    }

    #[test]
    fn credentials_are_percent_decoded_and_never_echoed() {
        let url = parse_url("smtp://apikey:s%40cret%2Fx@smtp.example.com:587").unwrap();
        assert!(url.credentials.is_some());
        assert_eq!(url.host, "smtp.example.com");
        for bad in [
            "smtp://user:hunter2@mail.example.com?tls=maybe",
            "smtps://user:hunter2@mail.example.com?tls=none",
            "http://user:hunter2@mail.example.com",
            "smtp://user:hunter2%FF@mail.example.com",
        ] {
            let e = parse_url(bad).err().expect(bad).to_string();
            assert!(e.starts_with("SMTP_URL"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}

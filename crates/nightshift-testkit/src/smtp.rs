//! A real SMTP server on loopback that keeps what it receives, for testing
//! mail transports end to end without a mail catcher process.
//!
//! The protocol (command parsing, the state machine, dot-unstuffing of DATA)
//! is the `mailin` crate's; this module only moves its lines over tokio
//! sockets and records envelopes and messages. No TLS is offered, as with a
//! local catcher such as Mailpit on :1025; AUTH (PLAIN, LOGIN, in clear) only
//! after [`SmtpSink::require_auth`].
//!
//! Tests make the server refuse with [`SmtpSink::reject_rcpt`] (answered to
//! every `RCPT TO`) or [`SmtpSink::reject_data`] (answered to `DATA`), e.g.
//! 451 for "try later" or 550 for "never". `DATA` is refused before the
//! content rather than after it because mailin stays in its data state when
//! the end-of-data reply is an error, and the session would then swallow the
//! client's `QUIT`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One message as the server took it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The RFC 5322 message as sent after `DATA`, dot-unstuffed, CRLF lines.
    pub data: Vec<u8>,
}

/// A loopback SMTP server. It stops accepting when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    messages: Vec<ReceivedMail>,
    rcpt_reply: Option<(u16, String)>,
    data_reply: Option<(u16, String)>,
    credentials: Option<(String, String)>,
}

impl SmtpSink {
    /// Listens on `127.0.0.1` on a free port. Needs a tokio runtime.
    pub async fn start() -> io::Result<SmtpSink> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(SmtpSink { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`: a loopback URL, which SMTP clients of this
    /// workspace speak without TLS.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared).messages.clone()
    }

    /// Answer every following `RCPT TO` with `code text` (e.g. 550).
    pub fn reject_rcpt(&self, code: u16, text: impl Into<String>) {
        lock(&self.shared).rcpt_reply = Some((code, text.into()));
    }

    /// Answer every following `DATA` command with `code text` (e.g. 451),
    /// so no message is taken.
    pub fn reject_data(&self, code: u16, text: impl Into<String>) {
        lock(&self.shared).data_reply = Some((code, text.into()));
    }

    /// Offer AUTH PLAIN and LOGIN on new connections and accept only this
    /// user and password (anything else gets 535).
    pub fn require_auth(&self, user: impl Into<String>, password: impl Into<String>) {
        lock(&self.shared).credentials = Some((user.into(), password.into()));
    }

    /// Back to accepting everything.
    pub fn accept_all(&self) {
        let mut shared = lock(&self.shared);
        shared.rcpt_reply = None;
        shared.data_reply = None;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// A panicking test thread must not turn every later assertion into a
// poisoned-lock panic that hides the first failure.
fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Mutex<Shared>>) {
    let mut sessions = tokio::task::JoinSet::new();
    while let Ok((stream, peer)) = listener.accept().await {
        sessions.spawn(serve(stream, peer.ip(), shared.clone()));
    }
}

async fn serve(stream: TcpStream, peer: IpAddr, shared: Arc<Mutex<Shared>>) -> io::Result<()> {
    let handler = Recorder {
        shared,
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut builder = SessionBuilder::new("nightshift-testkit");
    if lock(&handler.shared).credentials.is_some() {
        // Clear-text AUTH: the sink has no TLS, and the point is to check
        // what the client sends.
        builder
            .enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login)
            .insecure_enable_plaintext_auth();
    }
    let mut session = builder.build(peer, handler);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let res = session.process(&line);
        match res.action {
            Action::NoReply => {}
            Action::Reply => write.write_all(&res.buffer()?).await?,
            // STARTTLS is never offered, so an upgrade request ends the
            // session like a close does.
            Action::Close | Action::UpgradeTls => {
                write.write_all(&res.buffer()?).await?;
                return Ok(());
            }
        }
    }
}

/// One per connection: collects the transaction mailin reports.
struct Recorder {
    shared: Arc<Mutex<Shared>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

fn reply(configured: &Option<(u16, String)>) -> Option<Response> {
    configured
        .as_ref()
        .map(|(code, text)| Response::custom(*code, text.clone()))
}

impl Recorder {
    fn check_login(&self, user: &str, password: &str) -> Response {
        match &lock(&self.shared).credentials {
            Some((u, p)) if u == user && p == password => mailin::response::AUTH_OK,
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Recorder {
    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.check_login(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check_login(user, password)
    }

    fn rcpt(&mut self, _to: &str) -> Response {
        reply(&lock(&self.shared).rcpt_reply).unwrap_or(mailin::response::OK)
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        if let Some(refused) = reply(&lock(&self.shared).data_reply) {
            return refused;
        }
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mut shared = lock(&self.shared);
        shared.messages.push(ReceivedMail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
        });
        // Real servers name the queue entry here; clients report it back as
        // the provider's message id.
        let queue_id = format!("SINK{:04}", shared.messages.len());
        Response::custom(250, format!("OK: queued as {queue_id}"))
    }
}

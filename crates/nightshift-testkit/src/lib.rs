//! Test support. For the GitHub client: a real HTTP server on loopback that
//! replays recorded GitHub API traffic (below). For the mail transports: a
//! real SMTP server on loopback, [`smtp::SmtpSink`].
//!
//! The recordings are [octokit/fixtures] files (a JSON array of interactions
//! `{scope, method, path, body, status, response, rawHeaders, reqheaders}`)
//! found in the directory named by `NIGHTSHIFT_FIXTURES`, or else in the
//! repository's `tests/fixtures/github` (see [`fixtures_dir`]). A real socket is used, rather than a mocked client, so
//! that the client's own HTTP stack, headers and redirects are exercised.
//!
//! # Matching rules
//!
//! * A request is matched on its **path** and its **`page` query parameter**
//!   only (missing or unparsable = 1). Every other query parameter
//!   (`per_page`, `state`, `since`, `sort`, `q`, …) is ignored, because the
//!   client under test asks for `per_page=100` while the recordings used 3.
//! * **Scripted** answers ([`Replay::script`], exact path, any method, any
//!   page) win over **added** routes ([`Replay::add`], any method), which win
//!   over **recordings** (GET interactions only; other methods are not
//!   loaded). Scripts for one path form a queue consumed in the order given.
//! * An added route with `page: None` matches every page of its path; one
//!   with `Some(n)` is preferred for page `n`.
//! * Unmatched requests get `404` with GitHub's
//!   `{"message":"Not Found","documentation_url":…}` body.
//! * Every served response has `https://api.github.com` replaced by the
//!   server's own URL in the `Link` and `Location` headers and in the body,
//!   so `rel="next"` links lead back to the replay server.
//! * Conditional requests: a GET to a recording or added route carrying an
//!   `ETag`, whose `If-None-Match` equals that ETag (weak `W/` prefixes and
//!   lists allowed), gets `304 Not Modified` with the ETag, an empty body and
//!   the same `X-RateLimit-*` headers (a 304 costs no rate limit on GitHub, so
//!   `X-RateLimit-Remaining` stays as recorded). Scripted answers are served
//!   verbatim, without this check.
//! * `Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive` and
//!   `Content-Encoding` are dropped from recordings: the bodies are stored
//!   decoded and re-serialised, so the server computes its own framing.
//! * [`Canned::delay_ms`] delays the response (the request is already
//!   visible in [`Replay::requests`] while the response is delayed).
//! * [`Canned::trickle`] sends the body slowly; [`Canned::cut_after`] breaks
//!   the connection in the middle of it.
//!
//! [octokit/fixtures]: https://github.com/octokit/fixtures

mod canned;
pub mod cli;
mod conditional;
pub mod db;
mod fixtures;
mod server;
pub mod smtp;
mod synthetic;

pub use canned::{BodyFault, Canned, Seen};
pub use fixtures::{fixtures_dir, recorded_body};
pub use server::Replay;
pub use synthetic::synthetic_issues;

/// A loopback port nothing listens on: bound, then released. A child
/// process may take it, or a test may use it as a server that is down.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free loopback port")
        .local_addr()
        .expect("its address")
        .port()
}

/// The `s3://bucket/prefix` of the real S3-compatible server that scripts/test
/// starts (moto's, scripts/moto), which also exports the standard `AWS_*`
/// variables pointing at it. Unset means the test was run outside scripts/test:
/// fail and say how to get the server, rather than pass without S3.
pub fn s3_test_url() -> String {
    match std::env::var("EXPORT_S3_TEST_URL") {
        Ok(url) if url.starts_with("s3://") && url["s3://".len()..].contains('/') => url,
        Ok(url) => panic!("EXPORT_S3_TEST_URL={url:?} is not s3://bucket/prefix"),
        Err(_) => panic!(
            "EXPORT_S3_TEST_URL is not set: run the tests with scripts/test, or \
             eval \"$(scripts/moto start)\" first (a real S3-compatible server on loopback)"
        ),
    }
}

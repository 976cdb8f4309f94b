//! The replay server: routing, conditional requests, URL rewriting.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tokio::task::JoinHandle;

use crate::conditional::{etag_matches, not_modified};
use crate::fixtures::{DROPPED, Key, fixtures_dir, key_of, load};
use crate::{BodyFault, Canned, Seen};

const GITHUB_API: &str = "https://api.github.com";

/// A loopback server replaying the recordings plus whatever a test added or
/// scripted. The server task stops when the `Replay` is dropped.
pub struct Replay {
    inner: Arc<Inner>,
    url: String,
    task: JoinHandle<()>,
}

struct Inner {
    base: String,
    recordings: HashMap<Key, Canned>,
    /// `None` page = every page of the path.
    added: Mutex<HashMap<(String, Option<u32>), Canned>>,
    scripts: Mutex<HashMap<String, Script>>,
    seen: Mutex<Vec<Seen>>,
}

/// Per path, answers consumed front first, each with the number of uses
/// left (`None` = forever).
type Script = VecDeque<(Canned, Option<usize>)>;

/// A poisoned lock only means another test thread panicked; the data (plain
/// maps and lists) is still consistent, so keep serving.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Replay {
    /// Loads every fixture file's GET interactions (from [`fixtures_dir`])
    /// and serves them on 127.0.0.1:0. Panics if the fixtures cannot be read.
    pub async fn start() -> Replay {
        Self::start_from(&fixtures_dir()).await
    }

    /// Like [`Replay::start`], with the recordings of another directory.
    pub async fn start_from(dir: &Path) -> Replay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("nightshift-testkit: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let url = format!("http://{addr}");
        let inner = Arc::new(Inner {
            base: url.clone(),
            recordings: load(dir),
            added: Mutex::default(),
            scripts: Mutex::default(),
            seen: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let task = tokio::spawn(async move {
            // Errors here only happen when the runtime shuts down under us.
            let _ = axum::serve(listener, app).await;
        });
        Replay { inner, url, task }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Adds a synthetic route, served before the recordings. `page: None`
    /// serves every page of `path`; a query in `path` is ignored. Adding the
    /// same path and page again replaces the previous response.
    pub fn add(&self, path: &str, page: Option<u32>, resp: Canned) {
        let (path, _) = key_of(path);
        lock(&self.inner.added).insert((path, page), resp);
    }

    /// The next `times` requests to `path` (any method, any query) get
    /// `resp`; `times: None` means always. Scripting a path again queues
    /// behind the earlier answers (e.g. a 502, then a 403, then the
    /// recording), so an earlier `None` script hides later ones.
    pub fn script(&self, path: &str, resp: Canned, times: Option<usize>) {
        if times == Some(0) {
            return;
        }
        let (path, _) = key_of(path);
        lock(&self.inner.scripts)
            .entry(path)
            .or_default()
            .push_back((resp, times));
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.inner.seen).clone()
    }

    /// Paths (with query) answered 200 more than once: a sync that fetched
    /// a page twice.
    pub fn fetched_twice(&self) -> Vec<String> {
        let mut ok: Vec<String> = self
            .requests()
            .into_iter()
            .filter(|r| r.status == 200)
            .map(|r| r.path_and_query)
            .collect();
        ok.sort();
        let mut twice: Vec<String> = ok
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0].clone())
            .collect();
        twice.dedup();
        twice
    }

    pub fn clear_requests(&self) {
        lock(&self.inner.seen).clear();
    }

    /// Drops every scripted answer not yet served: the upstream is healthy
    /// again.
    pub fn clear_scripts(&self) {
        lock(&self.inner.scripts).clear();
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Inner {
    /// The answer for a request, and whether it may be turned into a 304.
    fn pick(&self, method: &Method, path: &str, page: u32) -> Option<(Canned, bool)> {
        if let Some(c) = self.take_script(path) {
            return Some((c, false));
        }
        let added = lock(&self.added);
        let exact = added.get(&(path.to_string(), Some(page)));
        if let Some(c) = exact.or_else(|| added.get(&(path.to_string(), None))) {
            return Some((c.clone(), true));
        }
        drop(added);
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let c = self.recordings.get(&(path.to_string(), page))?;
        Some((c.clone(), true))
    }

    fn take_script(&self, path: &str) -> Option<Canned> {
        let mut scripts = lock(&self.scripts);
        let queue = scripts.get_mut(path)?;
        let (canned, left) = queue.front_mut()?;
        let out = canned.clone();
        if let Some(n) = left {
            *n -= 1;
            if *n == 0 {
                queue.pop_front();
            }
        }
        if queue.is_empty() {
            scripts.remove(path);
        }
        Some(out)
    }

    /// Points GitHub URLs back at this server so clients following `Link`
    /// or `Location` (or URLs inside bodies) stay on the replay.
    fn rewrite(&self, s: &str) -> String {
        s.replace("https://api.github.com:443", &self.base)
            .replace(GITHUB_API, &self.base)
    }
}

fn not_found() -> Canned {
    Canned::json(
        404,
        serde_json::json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest"
        }),
    )
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let method = req.method().clone();
    let path_and_query = req.uri().path_and_query().map_or_else(
        || req.uri().path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let (path, page) = key_of(&path_and_query);

    let if_none_match: Vec<&str> = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let answer = match inner.pick(&method, &path, page) {
        None => not_found(),
        Some((full, conditional)) => {
            let etag = full.header_value("etag");
            let fresh = conditional
                && (method == Method::GET || method == Method::HEAD)
                && etag.is_some_and(|e| if_none_match.iter().any(|v| etag_matches(v, e)));
            if fresh { not_modified(&full) } else { full }
        }
    };

    // Recorded before any delay, so a test whose client timed out can still
    // see that the request arrived.
    lock(&inner.seen).push(Seen {
        method: method.to_string(),
        path_and_query,
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_string(), v)
            })
            .collect(),
        status: answer.status,
    });

    if answer.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(answer.delay_ms)).await;
    }
    build(&inner, answer)
}

fn build(inner: &Inner, answer: Canned) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = Response::builder().status(status);
    for (k, v) in &answer.headers {
        let lower = k.to_ascii_lowercase();
        if DROPPED.contains(&lower.as_str()) {
            continue; // also from canned responses: hyper frames the body
        }
        let v = if lower == "link" || lower == "location" {
            inner.rewrite(v)
        } else {
            v.clone()
        };
        // A header that is not valid HTTP is skipped rather than failing the
        // whole response: the recordings are third-party data.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(lower.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(body_of(inner.rewrite(&answer.body), answer.fault))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The body, whole or faulty. A stream error makes hyper abort the
/// connection, so the client sees a truncated response.
fn body_of(text: String, fault: BodyFault) -> Body {
    let bytes = text.into_bytes();
    match fault {
        BodyFault::None => Body::from(bytes),
        BodyFault::Trickle { chunk, every_ms } => {
            let chunks: Vec<Vec<u8>> = bytes.chunks(chunk).map(<[u8]>::to_vec).collect();
            Body::from_stream(futures_util::stream::unfold(
                chunks.into_iter(),
                move |mut rest| async move {
                    let next = rest.next()?;
                    tokio::time::sleep(Duration::from_millis(every_ms)).await;
                    Some((Ok::<_, std::io::Error>(next), rest))
                },
            ))
        }
        BodyFault::CutAfter(n) => {
            let head = bytes[..n.min(bytes.len())].to_vec();
            let parts: Vec<std::io::Result<Vec<u8>>> = vec![
                Ok(head),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by the test",
                )),
            ];
            Body::from_stream(futures_util::stream::iter(parts))
        }
    }
}

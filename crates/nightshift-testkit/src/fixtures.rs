//! Loading octokit/fixtures recordings into canned responses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Canned;

/// Where the recordings live: `$NIGHTSHIFT_FIXTURES`, or else the
/// repository's own `tests/fixtures/github` (two levels above this crate's
/// manifest), so a fresh clone tests with nothing beside it.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("NIGHTSHIFT_FIXTURES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/github"),
    }
}

/// One recorded interaction; fields we do not serve (`scope`, `body`,
/// `reqheaders`) are ignored.
#[derive(Deserialize)]
struct Interaction {
    method: String,
    path: String,
    status: u16,
    #[serde(default)]
    response: serde_json::Value,
    #[serde(rename = "rawHeaders", default)]
    raw_headers: Vec<serde_json::Value>,
}

/// Headers the server must compute itself: the body is re-serialised (so
/// its length changes) and is never compressed, and connections are ours.
pub(crate) const DROPPED: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "content-encoding",
];

/// The route key: path without query, and the `page` parameter.
pub(crate) type Key = (String, u32);

/// Splits `path?query` into the path and its `page` parameter (missing or
/// unparsable = 1, as GitHub treats it).
pub(crate) fn key_of(path_and_query: &str) -> Key {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    (path.to_string(), page_of(query))
}

pub(crate) fn page_of(query: &str) -> u32 {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1)
}

/// Loads the GET interactions of every `*.json` file in `dir`, in file-name
/// order; the first recording of a given path and page wins.
///
/// Panics with the offending path on any I/O or format error: a test that
/// silently ran without its recordings would fail far from the cause.
pub(crate) fn load(dir: &Path) -> HashMap<Key, Canned> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "nightshift-testkit: cannot read fixtures dir {} ({e}); set NIGHTSHIFT_FIXTURES",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();

    let mut routes = HashMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("nightshift-testkit: reading {}: {e}", file.display()));
        let interactions: Vec<Interaction> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("nightshift-testkit: parsing {}: {e}", file.display()));
        for i in interactions {
            if !i.method.eq_ignore_ascii_case("get") {
                continue;
            }
            routes.entry(key_of(&i.path)).or_insert_with(|| canned(i));
        }
    }
    routes
}

/// The recorded body of the first GET of `path` (page and query as in
/// [`key_of`]) in the fixture file `file` of [`fixtures_dir`]: for a test
/// that serves a changed copy of a recording, e.g. the same issues after a
/// reassignment on GitHub. Panics when the file or the interaction is missing.
pub fn recorded_body(file: &str, path: &str) -> serde_json::Value {
    let file = fixtures_dir().join(file);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("nightshift-testkit: reading {}: {e}", file.display()));
    let interactions: Vec<Interaction> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("nightshift-testkit: parsing {}: {e}", file.display()));
    let want = key_of(path);
    interactions
        .into_iter()
        .find(|i| i.method.eq_ignore_ascii_case("get") && key_of(&i.path) == want)
        .unwrap_or_else(|| panic!("nightshift-testkit: no GET {path} in {}", file.display()))
        .response
}

fn canned(i: Interaction) -> Canned {
    // rawHeaders is flat: [name, value, name, value, …].
    let headers = i
        .raw_headers
        .chunks_exact(2)
        .filter_map(|pair| Some((text_of(&pair[0])?, text_of(&pair[1])?)))
        .filter(|(k, _)| !DROPPED.contains(&k.to_ascii_lowercase().as_str()))
        .collect();
    // Empty bodies (204s) are recorded as the string "", other non-JSON
    // bodies as strings too; JSON bodies are stored parsed.
    let body = match i.response {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    };
    Canned {
        status: i.status,
        headers,
        body,
        delay_ms: 0,
        fault: crate::BodyFault::None,
    }
}

fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_to_one_and_ignores_other_params() {
        assert_eq!(key_of("/a/b"), ("/a/b".to_string(), 1));
        assert_eq!(key_of("/a?per_page=3&page=4"), ("/a".to_string(), 4));
        assert_eq!(key_of("/a?page=x&state=all"), ("/a".to_string(), 1));
        assert_eq!(key_of("/a?per_page=100"), ("/a".to_string(), 1));
    }
}

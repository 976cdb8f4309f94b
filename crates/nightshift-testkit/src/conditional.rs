//! Conditional requests: `If-None-Match` against a response's `ETag`.

use crate::Canned;

/// Whether an `If-None-Match` value names `etag`. Weak and strong forms are
/// compared alike (GitHub does, for GETs), and lists and `*` are honoured.
pub(crate) fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let norm = |s: &str| s.trim().trim_start_matches("W/").to_string();
    if_none_match
        .split(',')
        .any(|c| c.trim() == "*" || norm(c) == norm(etag))
}

/// The 304 for `full`: its ETag and rate-limit headers, no body.
pub(crate) fn not_modified(full: &Canned) -> Canned {
    let headers = full
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == "etag" || k.starts_with("x-ratelimit-")
        })
        .cloned()
        .collect();
    Canned {
        status: 304,
        headers,
        body: String::new(),
        delay_ms: full.delay_ms,
        fault: crate::BodyFault::None,
    }
}

#[cfg(test)]
mod tests {
    use super::etag_matches;

    #[test]
    fn weak_strong_lists_and_star() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("W/\"a\"", "\"a\""));
        assert!(etag_matches("\"b\", \"a\"", "W/\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}

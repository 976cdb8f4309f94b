//! The dashboard's forms: a bounded body, one field, and the redirect back
//! to the page (docs/architecture.md §2: a route takes no body but the "Run
//! now" form's CSRF token).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

pub use crate::config::{DASHBOARD_PATH, run_page_path};
use crate::error::HandleError;

/// The forms hold a token or the secret: far below this. A bigger body is
/// refused (413) before it is buffered, whoever sends it.
pub const FORM_LIMIT: usize = 4096;

/// A form body, at most `FORM_LIMIT` bytes. A body that breaks off midway
/// is refused the same way: there is no form to read either way.
pub async fn read_form(body: Body) -> Result<axum::body::Bytes, HandleError> {
    axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| HandleError::PayloadTooLarge(FORM_LIMIT))
}

pub fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// One field of an urlencoded form. Tokens and secrets are plain ASCII;
/// '+' and %XX are decoded for whatever a browser does to them.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name)
            .then(|| crate::options::decode(v).ok())
            .flatten()
    })
}

pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(http::header::LOCATION, location.to_owned())],
    )
        .into_response()
}

//! Every way a call can be refused or break, and the one place where each maps
//! to an HTTP status. Messages are for the caller: no secret, no URL, no
//! database text; what broke inside goes to the log as the error's `source`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// Seconds a caller should wait before retrying when the database is away.
pub const RETRY_AFTER_SECS: u64 = 30;

/// What broke inside, kept for the log only.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The method is not one the path takes; the value is its `Allow`
    /// header ("GET, POST" for the cron routes).
    #[error("method not allowed; use {0}")]
    MethodNotAllowed(&'static str),
    #[error("CRON_SECRET is not configured; refusing every call until it is set")]
    SecretNotConfigured,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    /// A thing the path names that does not exist (a run id); the message
    /// says which.
    #[error("{0}")]
    NotFound(String),
    #[error("DATABASE_URL is not configured")]
    DatabaseNotConfigured,
    #[error("the database is unreachable; retry later")]
    DatabaseUnavailable(#[source] sqlx::Error),
    #[error(
        "the database schema is at migration {found}, this binary needs {expected}: run migrations (nightshift migrate)"
    )]
    SchemaOutdated { found: i64, expected: i64 },
    /// Something broke inside. The caller gets this fixed text; the cause
    /// (a sqlx error, a template's) is the `source` in the log.
    #[error("internal error; the server log says why")]
    Internal(#[source] Cause),
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Said to anyone, so it names the variable only; the value and why it
    /// is wrong go to the log.
    #[error("{0} is invalid; the server log says why")]
    Config(&'static str),
    /// Too many wrong secrets from this client's scope: its wrong secrets
    /// wait (`crate::throttle`); the right secret is never refused.
    #[error("too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
}

impl HandleError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::DatabaseUnavailable(_) | Self::SchemaOutdated { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::SecretNotConfigured
            | Self::DatabaseNotConfigured
            | Self::Internal(_)
            | Self::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::SecretNotConfigured => "secret_not_configured",
            Self::Unauthorized => "unauthorized",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::BadRequest(_) => "bad_request",
            Self::DatabaseNotConfigured => "database_not_configured",
            Self::DatabaseUnavailable(_) => "database_unavailable",
            Self::SchemaOutdated { .. } => "schema_outdated",
            Self::Internal(_) => "internal",
            Self::Config(_) => "config",
        }
    }

    /// Database errors split in two: the server is away (503, retry) or the
    /// query itself failed (500).
    pub fn from_db(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            Self::DatabaseUnavailable(err)
        } else {
            Self::Internal(Box::new(err))
        }
    }

    /// `Internal` from any error, or from a message (`&str`, `String`).
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }

    /// The message and its causes, for a log or an operator's own terminal
    /// (a startup error, the CLI); never for an HTTP answer.
    pub fn detail(&self) -> String {
        match causes(self) {
            c if c.is_empty() => self.to_string(),
            c => format!("{self}: {c}"),
        }
    }
}

/// The server is away or refusing connections, as opposed to a query that
/// failed: the first is worth a retry later, the second is a bug or bad data.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Worth another attempt: the server is away, or Postgres asks for a retry.
pub fn is_transient(err: &sqlx::Error) -> bool {
    is_unavailable(err)
        || matches!(err, sqlx::Error::Database(db)
            if db.code().is_some_and(|c| matches!(&*c, "40001" | "40P01" | "55P03")))
}

/// The error's causes, outermost first, for the log's `source` field.
fn causes(err: &HandleError) -> String {
    let mut out = String::new();
    let mut next = std::error::Error::source(err);
    while let Some(cause) = next {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

impl IntoResponse for HandleError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, source = %causes(&self), "request failed");
        } else {
            tracing::info!(code = self.code(), error = %self, "request refused");
        }
        let body = json!({ "outcome": "error", "error": self.code(), "message": self.to_string() });
        let mut resp = (status, Json(body)).into_response();
        self.annotate(resp.headers_mut());
        resp
    }
}

impl HandleError {
    /// The headers that go with the status (Allow, WWW-Authenticate,
    /// Retry-After), for any body: the JSON above, or a page.
    pub fn annotate(&self, headers: &mut http::HeaderMap) {
        match self {
            Self::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::DatabaseUnavailable(_) | Self::SchemaOutdated { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            Self::TooManyAttempts { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_keeps_its_cause_for_the_log_not_the_answer() {
        let err = HandleError::from_db(sqlx::Error::RowNotFound);
        assert_eq!(err.code(), "internal");
        let logged = causes(&err);
        assert!(logged.contains("no rows returned"), "{logged:?}");
        assert!(!err.to_string().contains("no rows"), "{err}");
        let wrapped = anyhow::anyhow!("inner").context("outer");
        assert_eq!(causes(&HandleError::internal(wrapped)), "outer: inner");
        assert_eq!(
            HandleError::internal("session_epoch has no row").detail(),
            "internal error; the server log says why: session_epoch has no row"
        );
    }
}

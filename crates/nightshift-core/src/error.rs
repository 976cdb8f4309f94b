//! Every way a call can be refused or break, and the one place where each maps
//! to an HTTP status. Messages are for the caller: no secret, no URL.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// Seconds a caller should wait before retrying when the database is away.
pub const RETRY_AFTER_SECS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("method not allowed; use GET or POST")]
    MethodNotAllowed,
    #[error("CRON_SECRET is not configured; refusing every call until it is set")]
    SecretNotConfigured,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("method not allowed; use {0}")]
    MethodNotAllowedOnly(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("DATABASE_URL is not configured")]
    DatabaseNotConfigured,
    #[error("the database is unreachable; retry later")]
    DatabaseUnavailable(#[source] sqlx::Error),
    #[error(
        "the database schema is at migration {found}, this binary needs {expected}: run migrations (nightshift migrate)"
    )]
    SchemaOutdated { found: i64, expected: i64 },
    #[error("internal error: {0}")]
    Internal(String),
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Said to anyone, so it names the variable only; the value and why it
    /// is wrong go to the log.
    #[error("{0} is invalid; the server log says why")]
    Config(&'static str),
    /// Too many wrong secrets from this address, or from everyone: every
    /// attempt, the right secret too, waits (`crate::throttle`).
    #[error("too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
}

impl HandleError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed | Self::MethodNotAllowedOnly(_) => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
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
            Self::MethodNotAllowed | Self::MethodNotAllowedOnly(_) => "method_not_allowed",
            Self::Forbidden(_) => "forbidden",
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
        if crate::db::is_unavailable(&err) {
            Self::DatabaseUnavailable(err)
        } else {
            Self::Internal(format!("database error: {err}"))
        }
    }
}

impl IntoResponse for HandleError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, source = ?std::error::Error::source(&self), "request failed");
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
            Self::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            }
            Self::MethodNotAllowedOnly(allow) => {
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

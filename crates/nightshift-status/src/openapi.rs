//! `GET /api/openapi.json`: the OpenAPI 3.1 description of every route,
//! checked in next to this crate (docs/decisions.md, 55). tests/api/openapi.rs
//! keeps it in step with the routers and the task registry; schemathesis
//! (scripts/test) checks a running server's answers against it.

use axum::response::{IntoResponse, Response};
use http::{Method, header};
use nightshift_core::HandleError;

pub const PATH: &str = "/api/openapi.json";

/// The description, as served.
pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn serve(method: Method) -> Response {
    if method != Method::GET {
        return HandleError::MethodNotAllowed("GET").into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        DOCUMENT,
    )
        .into_response()
}

//! `GET /api/status/report/latest`: the newest weekly report as a page. Its
//! HTML was written for e-mail and points at inline images (`cid:…`); here
//! each becomes a `data:` URI so the browser shows the charts.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{Method, StatusCode, header};
use nightshift_core::{App, HandleError, auth};

#[derive(sqlx::FromRow)]
struct Image {
    content_id: String,
    content_type: String,
    data: Vec<u8>,
}

pub async fn latest(State(app): State<Arc<App>>, req: Request) -> Response {
    match latest_inner(&app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn latest_inner(app: &App, req: Request) -> Result<Response, HandleError> {
    if req.method() != Method::GET {
        return Err(HandleError::MethodNotAllowed("GET"));
    }
    auth::authorize_read(app, req.headers(), req.extensions()).await?;
    let pool = app.db.ready().await?;
    let report = sqlx::query!("SELECT id, html FROM reports ORDER BY generated_at DESC LIMIT 1")
        .fetch_optional(pool)
        .await
        .map_err(HandleError::from_db)?
        .map(|r| (r.id, r.html));
    let Some((id, html)) = report else {
        return Ok((StatusCode::NOT_FOUND, "no weekly report yet\n").into_response());
    };
    let images = sqlx::query_as!(
        Image,
        "SELECT content_id, content_type, data FROM report_images WHERE report_id = $1",
        id,
    )
    .fetch_all(pool)
    .await
    .map_err(HandleError::from_db)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Rendered by us from escaped data, and still: no script runs.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
            ),
        ],
        inline_images(&html, &images),
    )
        .into_response())
}

/// Every `cid:X` whose image is stored becomes `data:<type>;base64,…`. A
/// content id ends at a quote, a parenthesis, whitespace or `>`, so `cid:a1`
/// never matches the start of `cid:a10`; unknown ids stay as they are.
fn inline_images(html: &str, images: &[Image]) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("cid:") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        let end = after
            .find(|c: char| matches!(c, '"' | '\'' | ')' | '>') || c.is_whitespace())
            .unwrap_or(after.len());
        let id = &after[..end];
        match images.iter().find(|i| i.content_id == id) {
            Some(img) => {
                out.push_str("data:");
                out.push_str(&img.content_type);
                out.push_str(";base64,");
                out.push_str(&base64::engine::general_purpose::STANDARD.encode(&img.data));
            }
            None => {
                out.push_str("cid:");
                out.push_str(id);
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_references_become_data_uris() {
        let img = |id: &str, data: &[u8]| Image {
            content_id: id.into(),
            content_type: "image/png".into(),
            data: data.to_vec(),
        };
        let html = r#"<img src="cid:chart1"><img src="cid:chart10"><img src="cid:other">"#;
        let out = inline_images(html, &[img("chart10", b"b"), img("chart1", b"a")]);
        assert_eq!(
            out,
            r#"<img src="data:image/png;base64,YQ=="><img src="data:image/png;base64,Yg=="><img src="cid:other">"#
        );
    }
}

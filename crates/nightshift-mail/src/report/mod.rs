//! The weekly CTO report: data in, HTML + text + inline PNG charts out.
//!
//! `render` is pure (no I/O, no clock): the same `ReportData` always gives
//! the same mail, so the `reports` row can be re-rendered exactly.

mod charts;
pub mod data;
mod format;
mod html;
pub mod sample;
mod text;

use base64::Engine;

pub use data::*;
pub use sample::sample;

use crate::message::InlineImage;

/// Everything the outbox needs to build the e-mail.
#[derive(Clone, Debug)]
pub struct RenderedReport {
    pub subject: String,
    /// References its charts as `cid:<content_id>`.
    pub html: String,
    pub text: String,
    /// The charts, PNG, one per `cid:` in `html`.
    pub images: Vec<InlineImage>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("report template failed: {0}")]
    Template(#[from] askama::Error),
    #[error("report chart failed: {0}")]
    Chart(String),
}

pub fn render(data: &ReportData) -> Result<RenderedReport, RenderError> {
    let subject = subject(data);
    let charts = charts::all(data)?;
    let html = html::render(data, &subject, &charts)?;
    let text = text::render(data, &subject);
    let images = charts
        .into_iter()
        .map(|c| InlineImage {
            content_id: c.content_id.to_owned(),
            content_type: "image/png".to_owned(),
            data: c.png,
        })
        .collect();
    Ok(RenderedReport {
        subject,
        html,
        text,
        images,
    })
}

/// `Nightshift weekly report 2026-W48: health 74 (+3), 12 critical open`.
/// ASCII only, so no transport has to encode it.
pub fn subject(data: &ReportData) -> String {
    let p = &data.portfolio;
    let health = match p.average_health {
        Some(h) => {
            let delta = format::rounded_delta(p.average_health, p.average_health_last_week);
            match delta {
                Some(d) => format!("health {:.0} ({d:+})", h.round()),
                None => format!("health {:.0}", h.round()),
            }
        }
        None => "health n/a".to_owned(),
    };
    format!(
        "Nightshift weekly report {}: {health}, {} critical open",
        data.iso_week, p.critical_open
    )
}

/// The HTML with each `cid:` image inlined as a `data:` URI, for a browser
/// or the status page, which have no MIME parts to resolve `cid:` against.
pub fn preview_html(r: &RenderedReport) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    r.images.iter().fold(r.html.clone(), |html, img| {
        // Quoted, so `cid:velocity` cannot match inside `cid:velocity-2`.
        let cid = format!("\"cid:{}\"", img.content_id);
        let uri = format!(
            "\"data:{};base64,{}\"",
            img.content_type,
            b64.encode(&img.data)
        );
        html.replace(&cid, &uri)
    })
}

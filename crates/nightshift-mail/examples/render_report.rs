//! Renders the sample report for a look in a browser:
//! `cargo run -p nightshift-mail --example render_report -- OUT_DIR`
//! writes OUT_DIR/report.html (charts inlined as data: URIs), the PNGs,
//! report.txt and subject.txt. scripts/render-report screenshots the HTML.

use std::path::PathBuf;

use chrono::Utc;
use nightshift_mail::report::{preview_html, render, sample};

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "report-preview".into()),
    );
    std::fs::create_dir_all(&out)?;
    let report = render(&sample(Utc::now()))?;
    std::fs::write(out.join("report.html"), preview_html(&report))?;
    std::fs::write(out.join("report.txt"), &report.text)?;
    std::fs::write(out.join("subject.txt"), &report.subject)?;
    for img in &report.images {
        std::fs::write(out.join(format!("{}.png", img.content_id)), &img.data)?;
    }
    println!("{}", report.subject);
    println!(
        "wrote {} with {} charts",
        out.display(),
        report.images.len()
    );
    Ok(())
}

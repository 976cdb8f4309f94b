//! The weekly report as a reader gets it: escaped HTML, matching inline
//! PNGs, a plain-text part with the same figures, and no panic on thin data.

use chrono::{NaiveDate, TimeZone, Utc};
use nightshift_mail::report::{
    HealthPoint, ReportData, SeverityCount, WeekVelocity, preview_html, render, sample, subject,
};

fn demo() -> ReportData {
    sample(Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap())
}

/// The `cid:` references of the HTML, in order.
fn cids(html: &str) -> Vec<String> {
    html.split("src=\"cid:")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

#[test]
fn untrusted_text_is_escaped_in_html_and_plain_in_text() {
    let r = render(&demo()).unwrap();
    assert!(
        !r.html.to_lowercase().contains("<script"),
        "raw <script> in HTML"
    );
    // askama writes numeric entities; either spelling is text to a browser.
    let escaped = |s: &str| s.replace('<', "&#60;").replace('>', "&#62;");
    let title = escaped("<script>alert(1)</script>");
    assert!(r.html.contains(&title), "escaped title missing");
    assert!(r.html.contains(&escaped("partner-api <beta>")));
    // A javascript: URL from the data is shown unlinked, never as an href.
    assert!(!r.html.contains("javascript:"));
    assert!(
        r.html
            .contains(r#"href="https://github.com/example/checkout-service/issues/1290""#)
    );

    // The text part is not HTML: the title reads as written, nothing escaped.
    assert!(r.text.contains("<script>alert(1)</script>"));
    assert!(!r.text.contains("&#") && !r.text.contains("&lt;") && !r.text.contains("&amp;"));
}

#[test]
fn html_is_self_contained_email_markup() {
    let html = render(&demo()).unwrap().html.to_lowercase();
    for banned in [
        "<script",
        "<style",
        "<link",
        "@import",
        "javascript:",
        "<iframe",
        "<form",
    ] {
        assert!(!html.contains(banned), "e-mail HTML contains {banned}");
    }
    // Images come only from the message's own parts.
    for src in html.split("<img src=\"").skip(1) {
        assert!(
            src.starts_with("cid:"),
            "external image: {}",
            &src[..40.min(src.len())]
        );
    }
    assert!(html.contains("max-width:640px"));
    assert!(html.contains(r#"<a href="https://status.example.com/""#));
}

#[test]
fn control_characters_never_reach_the_text_part() {
    let mut data = demo();
    data.top_bugs[0].title = "red \x1b[31malert\x1b[0m\r\nsecond line".into();
    let r = render(&data).unwrap();
    assert!(!r.text.contains('\x1b') && !r.text.contains('\r'));
    assert!(r.text.contains("red [31malert [0m second line"));
}

#[test]
fn every_cid_has_a_decodable_png() {
    let r = render(&demo()).unwrap();
    let refs = cids(&r.html);
    assert_eq!(refs, ["health-trend", "sla-breaches", "velocity"]);
    assert_eq!(r.images.len(), refs.len());
    for id in &refs {
        let img = r.images.iter().find(|i| &i.content_id == id).expect(id);
        assert_eq!(img.content_type, "image/png");
        assert!(
            img.data.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{id}: not a PNG"
        );
        let decoder = png::Decoder::new(std::io::Cursor::new(&img.data));
        let info = decoder.read_info().unwrap().info().clone();
        // Drawn at 2x the 592px display width, a few hundred pixels tall.
        assert_eq!(info.width, 1184, "{id}");
        assert!((300..=600).contains(&info.height), "{id}: {}", info.height);
    }

    let preview = preview_html(&r);
    assert!(!preview.contains("cid:"));
    assert_eq!(preview.matches("src=\"data:image/png;base64,").count(), 3);
}

#[test]
fn empty_data_renders_and_says_so() {
    let r = render(&ReportData::default()).unwrap();
    assert!(r.images.is_empty());
    assert!(cids(&r.html).is_empty());
    for part in [&r.html, &r.text] {
        for says in [
            "No SLA breaches this week",
            "No projects tracked yet",
            "No open bugs with revenue at risk",
            "No velocity data yet",
            "No workload hotspots",
            "No job runs this week",
        ] {
            assert!(part.contains(says), "missing {says:?}");
        }
    }
    // Sections say so in words; no table is drawn with only its header.
    assert!(!r.html.contains("<th"));
    assert!(r.html.contains("No health history yet"));
    assert_eq!(
        r.subject,
        "Nightshift weekly report : health n/a, 0 critical open"
    );
}

#[test]
fn single_points_and_all_zero_counts_still_render() {
    let mut data = ReportData::default();
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    data.health_trend = vec![HealthPoint {
        date: day,
        average_health: 99.5,
    }];
    data.velocity = vec![WeekVelocity {
        week_start: day,
        ..Default::default()
    }];
    data.breaches_by_severity = ["critical", "high", "medium", "low"]
        .map(|s| SeverityCount {
            severity: s.into(),
            count: 0,
        })
        .to_vec();
    let r = render(&data).unwrap();
    assert_eq!(cids(&r.html), ["health-trend", "velocity"]);
    assert!(r.html.contains("No SLA breaches this week"));

    data.breaches_by_severity[1].count = 1;
    let r = render(&data).unwrap();
    assert_eq!(cids(&r.html), ["health-trend", "sla-breaches", "velocity"]);
}

#[test]
fn text_part_has_the_key_figures_in_columns() {
    let r = render(&demo()).unwrap();
    let t = &r.text;
    for figure in [
        "Average health         74 (+3 vs last week, 71)",
        "Open bugs              248",
        "Critical open          12",
        "Revenue at risk / day  $48,250",
        "Open SLA breaches      9",
        "total        17",
        "$9,800/day  critical  payments-gateway, open 6d  SLA BREACHED",
        "Generated Wed 25 Nov 2026, 09:00 CET (Europe/Berlin)",
        "Status page: https://status.example.com/",
    ] {
        assert!(t.contains(figure), "text part lacks {figure:?}:\n{t}");
    }
    // Columns line up: every row of the project table is as wide as its header.
    let table: Vec<&str> = t
        .lines()
        .skip_while(|l| !l.starts_with("  Project "))
        .take(8)
        .collect();
    let width = table[0].chars().count();
    assert!(table[1].starts_with("  checkout-service"));
    assert!(
        table.iter().all(|l| l.chars().count() == width),
        "{table:#?}"
    );
}

#[test]
fn subject_carries_week_health_change_and_criticals() {
    let mut data = demo();
    assert_eq!(
        subject(&data),
        "Nightshift weekly report 2026-W47: health 74 (+3), 12 critical open"
    );
    data.portfolio.average_health_last_week = Some(80.0);
    assert!(subject(&data).contains("health 74 (-6)"));
    data.portfolio.average_health_last_week = None;
    assert!(subject(&data).contains("health 74, 12 critical open"));
    assert!(subject(&data).is_ascii());
}

#[test]
fn unknown_timezone_falls_back_to_utc() {
    let mut data = demo();
    data.timezone = "Mars/Olympus_Mons".into();
    let r = render(&data).unwrap();
    assert!(r.text.contains("08:00 UTC (UTC)"), "{}", r.text);
}

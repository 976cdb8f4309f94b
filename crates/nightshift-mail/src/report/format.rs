//! Number, delta and colour formatting shared by the HTML and text parts, so
//! both say exactly the same figures.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Health 80+ is fine, 60..80 needs a look, below 60 is in trouble: the
/// dashboard's own bands, so the e-mail and the dashboard agree.
pub fn health_colour(health: Option<f64>) -> &'static str {
    match health {
        Some(h) if h >= 80.0 => GREEN,
        Some(h) if h >= 60.0 => AMBER,
        Some(_) => RED,
        None => GREY,
    }
}

// Dark enough on white (WCAG AA for normal text), so they also stay legible
// when a client forces its own dark background behind our white cards.
pub const GREEN: &str = "#1b7f3b";
pub const AMBER: &str = "#9a6700";
pub const RED: &str = "#c62828";
pub const GREY: &str = "#5f6b7a";
/// Body text.
pub const INK: &str = "#1f2933";

/// Workload levels of the database's `workload_level()`: LOW, MODERATE,
/// HIGH, CRITICAL.
pub fn load_colour(level: &str) -> &'static str {
    match level {
        "CRITICAL" => RED,
        "HIGH" => AMBER,
        "MODERATE" | "LOW" => GREEN,
        _ => GREY,
    }
}

/// Only http(s) links are rendered: a URL from GitHub data is untrusted,
/// and escaping alone does not stop a `javascript:` link.
pub fn web_link(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_owned())
}

/// Severity colours, also used for the bars of the SLA chart.
pub fn severity_colour(severity: &str) -> (u8, u8, u8) {
    match severity {
        "critical" => (0xc6, 0x28, 0x28),
        "high" => (0xe6, 0x5c, 0x00),
        "medium" => (0xb8, 0x86, 0x00),
        "low" => (0x15, 0x65, 0xc0),
        _ => (0x5f, 0x6b, 0x7a),
    }
}

pub fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Whole-number change between two rounded values, so "74 (+3)" always
/// matches what last week's report showed, never 74 vs 70.6.
pub fn rounded_delta(now: Option<f64>, before: Option<f64>) -> Option<i64> {
    Some(now?.round() as i64 - before?.round() as i64)
}

/// `+3`, `-2`, `±0`.
pub fn signed(delta: i64) -> String {
    if delta == 0 {
        "±0".to_owned()
    } else {
        format!("{delta:+}")
    }
}

/// Arrow and colour for a change where up is good.
pub fn trend(delta: Option<i64>) -> (&'static str, &'static str) {
    match delta {
        Some(d) if d > 0 => ("▲", GREEN),
        Some(d) if d < 0 => ("▼", RED),
        Some(_) => ("", GREY),
        None => ("", GREY),
    }
}

/// `$12,400`: revenue at risk per day has no useful cents.
pub fn money(amount: f64) -> String {
    let whole = amount.max(0.0).round() as u64;
    format!("${}", thousands(whole))
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn int(n: i64) -> String {
    let s = thousands(n.unsigned_abs());
    if n < 0 { format!("-{s}") } else { s }
}

pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => "n/a".to_owned(),
    }
}

/// Success rates: below 90% something is broken, below 99% flaky.
pub fn rate_colour(rate: Option<f64>) -> &'static str {
    match rate {
        Some(r) if r >= 0.99 => GREEN,
        Some(r) if r >= 0.90 => AMBER,
        Some(_) => RED,
        None => GREY,
    }
}

/// `850 ms`, `12.3 s`, `4m 05s`.
pub fn duration_ms(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "n/a".to_owned();
    };
    let ms = ms.max(0);
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        let s = ms / 1000;
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

/// Untrusted text made single-line and free of control characters (an
/// ANSI escape in a bug title must not repaint the reader's terminal), cut
/// to `max` characters with an ellipsis.
pub fn clean(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The org timezone, falling back to UTC when ORG_TIMEZONE is not a valid
/// IANA name: a wrong setting must not stop the report from going out.
pub fn timezone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// `Mon 30 Nov 2026, 07:00 CET`.
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// The week covered in local dates: `23 Nov – 29 Nov 2026`. The end is
/// exclusive, so the last day shown is the one before it.
pub fn period(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    let first = start.with_timezone(&tz).date_naive();
    let last = (end - chrono::Duration::seconds(1))
        .with_timezone(&tz)
        .date_naive();
    let last = last.max(first);
    format!("{} – {}", first.format("%-d %b"), last.format("%-d %b %Y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures() {
        assert_eq!(money(1_234_567.4), "$1,234,567");
        assert_eq!(money(0.0), "$0");
        assert_eq!(int(-12_000), "-12,000");
        assert_eq!(duration_ms(Some(850)), "850 ms");
        assert_eq!(duration_ms(Some(12_340)), "12.3 s");
        assert_eq!(duration_ms(Some(245_000)), "4m 05s");
        assert_eq!(percent(Some(0.975)), "97.5%");
        assert_eq!(rounded_delta(Some(74.4), Some(70.6)), Some(3));
        assert_eq!(signed(0), "±0");
    }

    #[test]
    fn clean_flattens_and_cuts() {
        assert_eq!(clean("a\n\x1b[31mb  c", 50), "a [31mb c");
        assert_eq!(clean("abcdefgh", 5), "abcd…");
    }
}

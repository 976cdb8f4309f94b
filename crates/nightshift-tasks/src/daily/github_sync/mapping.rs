//! What an issue's labels say: severity and priority, bug or not
//! (BUG_LABELS), and the money and time some labels carry: `revenue:<amount>`
//! (per day, at most two decimals) and `sla:<hours>h`. A malformed value is
//! ignored, never a failure: a label is anyone's to type. The rows are
//! written by `store`.

use crate::TasksConfig;
use nightshift_github::Issue;

/// Built-in label names per severity; SEVERITY_LABELS adds more.
const DEFAULTS: &[(&str, &str)] = &[
    ("severity:critical", "critical"),
    ("critical", "critical"),
    ("p0", "critical"),
    ("sev1", "critical"),
    ("severity:high", "high"),
    ("high", "high"),
    ("p1", "high"),
    ("sev2", "high"),
    ("severity:medium", "medium"),
    ("medium", "medium"),
    ("p2", "medium"),
    ("sev3", "medium"),
    ("severity:low", "low"),
    ("low", "low"),
    ("p3", "low"),
    ("sev4", "low"),
];
const RANK: [&str; 4] = ["critical", "high", "medium", "low"];

pub struct Mapping {
    severity: Vec<(String, String)>,
    bug_labels: Vec<String>,
}

impl Mapping {
    pub fn from_config(cfg: &TasksConfig) -> Self {
        let mut severity = cfg.severity_labels.clone();
        severity.extend(DEFAULTS.iter().map(|(l, s)| (l.to_string(), s.to_string())));
        Self {
            severity,
            bug_labels: cfg.bug_labels.clone(),
        }
    }

    fn labels(issue: &Issue) -> Vec<String> {
        issue
            .labels
            .iter()
            .map(|l| l.name().trim().to_lowercase())
            .collect()
    }

    /// The most severe level any label names; medium when none does.
    pub fn severity(&self, issue: &Issue) -> &'static str {
        let labels = Self::labels(issue);
        let found = labels
            .iter()
            .filter_map(|l| self.severity.iter().find(|(name, _)| name == l))
            .filter_map(|(_, sev)| RANK.iter().position(|r| r == sev))
            .min();
        RANK[found.unwrap_or(2)]
    }

    /// An explicit P0-P3 label wins; otherwise the priority follows severity.
    pub fn priority(&self, issue: &Issue, severity: &str) -> &'static str {
        let labels = Self::labels(issue);
        ["P0", "P1", "P2", "P3"]
            .into_iter()
            .find(|p| labels.iter().any(|l| l.eq_ignore_ascii_case(p)))
            .unwrap_or(match severity {
                "critical" => "P0",
                "high" => "P1",
                "medium" => "P2",
                _ => "P3",
            })
    }

    /// Revenue per day in cents from `revenue:<amount>` labels: the largest
    /// valid one, since what is at risk is the point; 0 when none is valid.
    pub fn revenue_cents(&self, issue: &Issue) -> i64 {
        Self::labels(issue)
            .iter()
            .filter_map(|l| parse_revenue(l.strip_prefix("revenue:")?))
            .max()
            .unwrap_or(0)
    }

    /// The SLA window from `sla:<hours>h` labels: the shortest valid one
    /// (the strictest promise); `None` when none is valid.
    pub fn sla_hours(&self, issue: &Issue) -> Option<i32> {
        Self::labels(issue)
            .iter()
            .filter_map(|l| parse_sla(l.strip_prefix("sla:")?))
            .min()
    }

    pub fn is_bug(&self, issue: &Issue) -> bool {
        self.bug_labels.is_empty()
            || Self::labels(issue)
                .iter()
                .any(|l| self.bug_labels.contains(l))
    }
}

/// `1200`, `1200.5`, `1200.50` → cents. No sign, no exponent, no separators;
/// at most 12 integer digits, which is what `numeric(14, 2)` holds.
fn parse_revenue(v: &str) -> Option<i64> {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, "00"));
    let digits =
        |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int, 12) || !digits(frac, 2) {
        return None;
    }
    let cents = if frac.len() == 1 {
        frac.parse::<i64>().ok()? * 10
    } else {
        frac.parse::<i64>().ok()?
    };
    Some(int.parse::<i64>().ok()? * 100 + cents)
}

/// Longest SLA window a label may set: a year. The escalation levels add up
/// to four windows in 32-bit hours, which a larger value could overflow.
const MAX_SLA_HOURS: i32 = 8760;

/// `48h` → 48; positive whole hours up to [`MAX_SLA_HOURS`].
fn parse_sla(v: &str) -> Option<i32> {
    let hours = v.trim().strip_suffix('h')?;
    if hours.is_empty() || hours.len() > 4 || !hours.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    (1..=MAX_SLA_HOURS).contains(&hours).then_some(hours)
}

#[cfg(test)]
mod tests {
    use super::{parse_revenue, parse_sla};

    #[test]
    fn revenue_amounts() {
        assert_eq!(parse_revenue("1200"), Some(120_000));
        assert_eq!(parse_revenue("1200.50"), Some(120_050));
        assert_eq!(parse_revenue("1200.5"), Some(120_050));
        assert_eq!(parse_revenue("0"), Some(0));
        assert_eq!(parse_revenue(" 7.05"), Some(705));
        assert_eq!(parse_revenue("999999999999.99"), Some(99_999_999_999_999));
        for bad in [
            "",
            "abc",
            "-5",
            "+5",
            "1200.",
            ".5",
            "1200.505",
            "1,200",
            "1e3",
            "1 200",
            "1000000000000",
        ] {
            assert_eq!(parse_revenue(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sla_hours() {
        assert_eq!(parse_sla("48h"), Some(48));
        assert_eq!(parse_sla("1h"), Some(1));
        assert_eq!(parse_sla("8760h"), Some(8760));
        for bad in [
            "0h", "48", "h", "-4h", "4.5h", "soon", "8761h", "99999h", "48hh",
        ] {
            assert_eq!(parse_sla(bad), None, "{bad:?}");
        }
    }
}

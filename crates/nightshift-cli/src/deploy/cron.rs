//! vercel.json's five-field cron (minute hour day-of-month month day-of-week)
//! as an EventBridge Scheduler `cron(...)` expression, which has six fields
//! (a year last), wants `?` in exactly one of day-of-month and day-of-week,
//! numbers the week 1-7 from Sunday (cron: 0-7, both 0 and 7 Sunday), and
//! documents `a/n` rather than `*/n` for steps. Each field is expanded to
//! the set of values it matches and written back in a form both read the
//! same way, so nothing depends on how the two dialects treat an edge case.
//! Days of the week are written as names (SUN-SAT), which EventBridge
//! documents beside the numbers and which cannot be off by one.

use std::collections::BTreeSet;

const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The EventBridge form of a five-field cron, or why EventBridge cannot
/// run it on the same instants.
pub fn to_eventbridge(expr: &str) -> Result<String, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        return Err(format!(
            "{expr:?}: expected five fields: minute hour day-of-month month day-of-week"
        ));
    };
    let minute = numeric(minute, 0, 59).map_err(|e| format!("{expr:?}: minute: {e}"))?;
    let hour = numeric(hour, 0, 23).map_err(|e| format!("{expr:?}: hour: {e}"))?;
    let month = numeric(month, 1, 12).map_err(|e| format!("{expr:?}: month: {e}"))?;
    // Standard cron runs a day matching either field when both are
    // restricted; EventBridge takes one of them only (the other is `?`).
    let (dom, dow) = match (dom == "*", dow == "*") {
        (true, true) => ("*".to_owned(), "?".to_owned()),
        (false, true) => (
            numeric(dom, 1, 31).map_err(|e| format!("{expr:?}: day of month: {e}"))?,
            "?".to_owned(),
        ),
        (true, false) => (
            "?".to_owned(),
            weekdays(dow).map_err(|e| format!("{expr:?}: day of week: {e}"))?,
        ),
        (false, false) => {
            return Err(format!(
                "{expr:?} restricts both the day of the month ({dom}) and the day of the week \
                 ({dow}); cron runs on days matching either, EventBridge Scheduler takes only \
                 one of them (the other must be \"?\"): use one, or split it into two routes"
            ));
        }
    };
    Ok(format!("cron({minute} {hour} {dom} {month} {dow} *)"))
}

/// The values a field matches: `*`, `n`, `a-b`, each with an optional
/// `/step`, separated by commas. Numbers only, as Vercel takes them.
fn values(field: &str, lo: u32, hi: u32) -> Result<BTreeSet<u32>, String> {
    let mut out = BTreeSet::new();
    for part in field.split(',') {
        let (base, step) = match part.split_once('/') {
            Some((b, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{part:?}: the step must be a positive number"))?;
                (b, Some(step))
            }
            None => (part, None),
        };
        let num = |s: &str| -> Result<u32, String> {
            s.parse::<u32>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| {
                    format!("{part:?}: {s:?} is not a number from {lo} to {hi} (names, L, W, # and ? cannot be converted)")
                })
        };
        let (from, to) = match base.split_once('-') {
            _ if base == "*" => (lo, hi),
            Some((a, b)) => (num(a)?, num(b)?),
            // `n/step` runs from n to the end of the range.
            None if step.is_some() => (num(base)?, hi),
            None => (num(base)?, num(base)?),
        };
        if from > to {
            return Err(format!("{part:?}: the range runs backwards"));
        }
        out.extend((from..=to).step_by(step.unwrap_or(1) as usize));
    }
    Ok(out)
}

/// Minute, hour, day of month or month, written back: `*`, `a/n` for a
/// step running to the end of the range, else values and ranges.
fn numeric(field: &str, lo: u32, hi: u32) -> Result<String, String> {
    let set = values(field, lo, hi)?;
    if set.len() == (hi - lo + 1) as usize {
        return Ok("*".into());
    }
    let v: Vec<u32> = set.iter().copied().collect();
    if v.len() > 2 {
        let step = v[1] - v[0];
        let even = v.windows(2).all(|w| w[1] - w[0] == step);
        if step > 1 && even && v[v.len() - 1] + step > hi {
            return Ok(format!("{}/{step}", v[0]));
        }
    }
    Ok(runs(&v, |n| n.to_string()))
}

/// Day of the week as names: 0 and 7 are both Sunday.
fn weekdays(field: &str) -> Result<String, String> {
    let set: BTreeSet<u32> = values(field, 0, 7)?.into_iter().map(|d| d % 7).collect();
    if set.len() == 7 {
        return Ok("*".into());
    }
    let v: Vec<u32> = set.into_iter().collect();
    Ok(runs(&v, |d| DAYS[d as usize].to_owned()))
}

/// Sorted values as `a-b` for three or more consecutive ones, else listed.
fn runs(v: &[u32], name: impl Fn(u32) -> String) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}-{}", name(v[i]), name(v[j])));
        } else {
            parts.extend(v[i..=j].iter().map(|n| name(*n)));
        }
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::to_eventbridge as eb;

    #[test]
    fn the_shipped_schedules() {
        assert_eq!(eb("0 * * * *").unwrap(), "cron(0 * * * ? *)");
        assert_eq!(eb("0 2 * * *").unwrap(), "cron(0 2 * * ? *)");
        assert_eq!(eb("0 9 * * 1").unwrap(), "cron(0 9 ? * MON *)");
    }

    #[test]
    fn steps_ranges_and_lists() {
        assert_eq!(eb("*/15 * * * *").unwrap(), "cron(0/15 * * * ? *)");
        assert_eq!(eb("5/20 */6 * * *").unwrap(), "cron(5/20 0/6 * * ? *)");
        assert_eq!(eb("30 6 * * 1-5").unwrap(), "cron(30 6 ? * MON-FRI *)");
        assert_eq!(eb("0 0 1 * *").unwrap(), "cron(0 0 1 * ? *)");
        assert_eq!(eb("0 8,12,13,14 * * *").unwrap(), "cron(0 8,12-14 * * ? *)");
        assert_eq!(eb("0 0 1 */3 *").unwrap(), "cron(0 0 1 1/3 ? *)");
        // A step that stops short of the end of its range is listed.
        assert_eq!(eb("0-30/10 * * * *").unwrap(), "cron(0,10,20,30 * * * ? *)");
        // Every minute, every value: `*`.
        assert_eq!(eb("0-59 * 1-31 * *").unwrap(), "cron(* * * * ? *)");
    }

    #[test]
    fn sunday_is_0_or_7_and_sun_in_eventbridge() {
        assert_eq!(eb("0 9 * * 0").unwrap(), "cron(0 9 ? * SUN *)");
        assert_eq!(eb("0 9 * * 7").unwrap(), "cron(0 9 ? * SUN *)");
        assert_eq!(eb("0 9 * * 6").unwrap(), "cron(0 9 ? * SAT *)");
        // Monday to Sunday does not wrap around: it is every day.
        assert_eq!(eb("0 9 * * 1-7").unwrap(), "cron(0 9 ? * * *)");
        assert_eq!(eb("0 9 * * 5-7").unwrap(), "cron(0 9 ? * SUN,FRI,SAT *)");
        assert_eq!(
            eb("0 9 * * */2").unwrap(),
            "cron(0 9 ? * SUN,TUE,THU,SAT *)"
        );
        assert_eq!(eb("0 9 * * 0,6").unwrap(), "cron(0 9 ? * SUN,SAT *)");
    }

    #[test]
    fn what_eventbridge_cannot_run_is_an_error_that_says_why() {
        let e = eb("0 0 1 * 1").unwrap_err();
        assert!(
            e.contains("both the day of the month (1) and the day of the week (1)"),
            "{e}"
        );
        assert!(e.contains("two routes"), "{e}");
        let e = eb("0 0 * * MON").unwrap_err();
        assert!(
            e.contains("names, L, W, # and ? cannot be converted"),
            "{e}"
        );
        let e = eb("0 0 L * *").unwrap_err();
        assert!(e.contains("day of month"), "{e}");
        assert!(eb("0 0 * *").unwrap_err().contains("five fields"));
        assert!(eb("60 * * * *").unwrap_err().contains("minute"));
        assert!(eb("0 5-2 * * *").unwrap_err().contains("backwards"));
        assert!(eb("*/0 * * * *").unwrap_err().contains("positive"));
        assert!(eb("0 0 * 13 *").unwrap_err().contains("month"));
    }
}

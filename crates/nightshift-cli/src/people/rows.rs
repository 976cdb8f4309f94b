//! The import file, read and checked without the database: the header, each
//! row's values, and duplicates within the file. What needs the database
//! (whose login is whose, unknown managers) is `import`'s part.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use anyhow::Context;

pub const ROLES: [&str; 4] = ["engineer", "manager", "director", "executive"];
const COLUMNS: [&str; 7] = [
    "email",
    "name",
    "github_login",
    "manager_email",
    "team",
    "role",
    "timezone",
];

/// One data row; empty cells are `None` (they keep what the person has).
#[derive(Debug, Default)]
pub struct Row {
    /// The line the row starts on, the header being line 1.
    pub line: u64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub login: Option<String>,
    pub manager_email: Option<String>,
    pub team: Option<String>,
    pub role: Option<&'static str>,
    pub timezone: Option<String>,
}

/// What is wrong with a row, said the way the file shows it.
#[derive(Debug)]
pub struct Problem {
    pub line: u64,
    pub column: &'static str,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

fn problem(line: u64, column: &'static str, reason: String) -> Problem {
    Problem {
        line,
        column,
        reason,
    }
}

/// A plain address: one `@`, something before it, a dotted domain after it,
/// no spaces. Deliverability is the outbox's business.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
}

/// What the `users.github_login` CHECK accepts: GitHub's 39 characters of
/// letters, digits and hyphens, or an app's `name[bot]`.
pub fn is_login(s: &str) -> bool {
    let name = s.strip_suffix("[bot]").unwrap_or(s);
    s.len() <= 44
        && name.len() <= 39
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Reads the file: `Err` when it cannot be used at all (unreadable, no
/// header, no email or github_login column), else the rows that passed and
/// the problems of those that did not.
pub fn read(text: &str) -> anyhow::Result<(Vec<Row>, Vec<Problem>)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .context("reading the header (line 1)")?
        .clone();
    let mut at: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        // Other columns are the spreadsheet's own business.
        let Some(known) = COLUMNS.iter().find(|c| **c == name) else {
            continue;
        };
        anyhow::ensure!(
            at.insert(known, i).is_none(),
            "line 1: the column {known} appears twice"
        );
    }
    anyhow::ensure!(
        at.contains_key("email") || at.contains_key("github_login"),
        "line 1: the header needs an email or a github_login column, e.g. {}",
        COLUMNS.join(",")
    );

    let (mut rows, mut problems) = (Vec::new(), Vec::new());
    let (mut emails, mut logins) = (HashMap::new(), HashMap::new());
    for record in reader.records() {
        let record = record.context("reading the file")?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            problems.push(problem(
                line,
                "-",
                format!(
                    "{} fields where the header has {} (a comma in an unquoted value?)",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let cell = |c: &str| {
            at.get(c)
                .and_then(|&i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let before = problems.len();
        let mut row = Row {
            line,
            email: cell("email"),
            name: cell("name"),
            login: cell("github_login"),
            manager_email: cell("manager_email"),
            team: cell("team"),
            timezone: cell("timezone"),
            ..Row::default()
        };
        let mut bad = |column, reason| problems.push(problem(line, column, reason));
        match (&row.email, &row.login) {
            (None, None) => bad("email", "neither email nor github_login is given".into()),
            (Some(e), _) if !is_email(e) => bad("email", format!("{e:?} is not an e-mail address")),
            _ => {}
        }
        if let Some(l) = row.login.as_deref().filter(|l| !is_login(l)) {
            bad(
                "github_login",
                format!("{l:?} is not a GitHub login (letters, digits and hyphens, at most 39)"),
            );
        }
        if let Some(m) = row.manager_email.as_deref().filter(|m| !is_email(m)) {
            bad("manager_email", format!("{m:?} is not an e-mail address"));
        }
        if let Some(r) = cell("role") {
            match ROLES.iter().find(|k| k.eq_ignore_ascii_case(&r)) {
                Some(k) => row.role = Some(k),
                None => bad(
                    "role",
                    format!("{r:?} is not a role ({})", ROLES.join(", ")),
                ),
            }
        }
        if let Some(tz) = row.timezone.as_deref()
            && chrono_tz::Tz::from_str(tz).is_err()
        {
            bad(
                "timezone",
                format!("{tz:?} is not an IANA time zone, e.g. Europe/Lisbon"),
            );
        }
        if let Some(e) = &row.email
            && let Some(first) = emails.insert(e.to_lowercase(), line)
        {
            bad("email", format!("{e} is also on line {first}"));
        }
        if let Some(l) = &row.login
            && let Some(first) = logins.insert(l.to_lowercase(), line)
        {
            bad("github_login", format!("{l} is also on line {first}"));
        }
        if problems.len() == before {
            rows.push(row);
        }
    }
    Ok((rows, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_logins() {
        for ok in ["ana@example.com", "a.b+c@mail.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@x.io",
            "a@@x.io",
            "a@x..io",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        for ok in ["octocat", "Mona-Lisa", "dependabot[bot]", "a1"] {
            assert!(is_login(ok), "{ok}");
        }
        for bad in [
            "-lead",
            "has space",
            "under_score",
            "x[bot][bot]",
            &"a".repeat(40),
        ] {
            assert!(!is_login(bad), "{bad}");
        }
    }

    #[test]
    fn columns_in_any_order_and_lines_as_in_the_file() {
        let text = "\u{feff}Team,GITHUB_LOGIN,notes,email\n\
                    core,ana,\"likes\nnewlines\",ana@example.com\n\
                    core,bob,,\n";
        let (rows, problems) = read(text).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[1].line), (2, 4));
        assert_eq!(rows[1].email, None);
        assert_eq!(rows[1].team.as_deref(), Some("core"));
        assert!(read("name,team\nAna,core\n").is_err());
    }
}

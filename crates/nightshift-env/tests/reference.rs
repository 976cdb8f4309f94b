//! The configuration reference cannot drift from the code: the variables the
//! crates read (found mechanically, below) are exactly the table's
//! `ReadBy::Nightshift` rows (crates/nightshift-env/src/vars.rs), and
//! docs/reference/configuration.md is exactly what the table renders.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nightshift_env::vars::{ReadBy, VARS, render_markdown};

const REGENERATE: &str = "NIGHTSHIFT_WRITE_DOCS=1 cargo test -p nightshift-env --test reference";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The call shapes through which the code reads a variable, with whitespace
/// removed: the nightshift-env parsers take `(&get, "NAME"` or `(get, "NAME"`,
/// a settings struct's lookup is `get("NAME")` or `secret("NAME")`, the rest
/// `std::env::var("NAME")`, `var_os("NAME")` or clap's `env = "NAME"`.
const READERS: &[&str] = &[
    "get(\"",
    "secret(\"",
    "(&get,\"",
    "(get,\"",
    "env::var(\"",
    "env::var_os(\"",
    "env=\"",
];

/// Every variable name read by the shipped crates' sources (tests and the
/// test kit, which set variables for child processes, excluded).
fn variables_read() -> BTreeSet<String> {
    let crates = repo_root().join("crates");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let dir = entry.expect("a crate").path();
        if dir.ends_with("nightshift-testkit") {
            continue;
        }
        if dir.join("src").is_dir() {
            rust_files(&dir.join("src"), &mut files);
        }
    }
    let mut found = BTreeSet::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "tests.rs"
            || name == "vars.rs"
            || file.components().any(|c| c.as_os_str() == "tests")
        {
            continue;
        }
        let text: String = std::fs::read_to_string(&file)
            .expect("a source file")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for reader in READERS {
            for (at, _) in text.match_indices(reader) {
                let rest = &text[at + reader.len()..];
                let literal = rest.split('"').next().unwrap_or("");
                let is_var = literal.len() > 1
                    && literal.starts_with(|c: char| c.is_ascii_uppercase())
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if is_var {
                    found.insert(literal.to_owned());
                }
            }
        }
    }
    found
}

#[test]
fn the_table_names_exactly_the_variables_the_code_reads() {
    let read = variables_read();
    assert!(
        read.contains("CRON_SECRET") && read.contains("DATABASE_URL"),
        "the scan found {read:?}"
    );
    let table: BTreeSet<String> = VARS
        .iter()
        .filter(|v| v.read_by == ReadBy::Nightshift)
        .map(|v| v.name.to_owned())
        .collect();
    let missing: Vec<_> = read.difference(&table).collect();
    let unread: Vec<_> = table.difference(&read).collect();
    assert!(
        missing.is_empty() && unread.is_empty(),
        "crates/nightshift-env/src/vars.rs is out of step with the code.\n\
         read by the code but not in VARS (add a row): {missing:?}\n\
         in VARS but read nowhere (remove the row, or mark it ReadBy::Library): {unread:?}\n\
         then regenerate the page: {REGENERATE}"
    );
}

#[test]
fn every_variable_is_listed_once() {
    let mut seen = BTreeSet::new();
    for v in VARS {
        assert!(seen.insert(v.name), "{} has two rows in VARS", v.name);
        assert!(
            !v.meaning.is_empty() && !v.kind.is_empty(),
            "{} needs a type and a meaning",
            v.name
        );
    }
}

#[test]
fn the_configuration_page_is_generated_from_the_table() {
    let page = repo_root().join("docs/reference/configuration.md");
    let want = render_markdown();
    if std::env::var_os("NIGHTSHIFT_WRITE_DOCS").is_some() {
        std::fs::write(&page, &want).expect("writing docs/reference/configuration.md");
        return;
    }
    let have = std::fs::read_to_string(&page).unwrap_or_default();
    assert!(
        have == want,
        "docs/reference/configuration.md is stale (crates/nightshift-env/src/vars.rs changed); regenerate it:\n  {REGENERATE}"
    );
}

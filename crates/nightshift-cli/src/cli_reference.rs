//! docs/reference/cli.md is rendered from the clap definitions of `Cli`, so the
//! page cannot drift from the binary; and the top-level `about` is the README's
//! first sentence, so `nightshift --help` and the README introduce the same thing.
//! Compiled out with `--features bench`: the page describes the shipped binary.

use std::path::{Path, PathBuf};

use super::Cli;

const REGENERATE: &str =
    "NIGHTSHIFT_WRITE_DOCS=1 cargo test -p nightshift-cli --bin nightshift cli_reference";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn render() -> String {
    let options = clap_markdown::MarkdownOptions::new()
        .title("Command line: `nightshift`".to_owned())
        .show_footer(false)
        .show_table_of_contents(true);
    let body = clap_markdown::help_markdown_custom::<Cli>(&options);
    format!(
        "<!-- Generated from the clap definitions in crates/nightshift-cli/src: do not edit. \
         Regenerate with\n     {REGENERATE} -->\n{body}"
    )
}

#[test]
fn cli_reference_page_is_generated_from_clap() {
    let page = repo_root().join("docs/reference/cli.md");
    let want = render();
    if std::env::var_os("NIGHTSHIFT_WRITE_DOCS").is_some() {
        std::fs::write(&page, &want).expect("writing docs/reference/cli.md");
        return;
    }
    let have = std::fs::read_to_string(&page).unwrap_or_default();
    assert!(
        have == want,
        "docs/reference/cli.md is stale (a command, flag or help text changed); regenerate it:\n  {REGENERATE}"
    );
}

#[test]
fn cli_reference_about_is_the_readme_first_sentence() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    // The first paragraph after the title, joined, up to its first full stop.
    let para: Vec<&str> = readme
        .lines()
        .skip_while(|l| l.trim().is_empty() || l.starts_with('#'))
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let para = para.join(" ");
    let first = para
        .split_inclusive(". ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let about = <Cli as clap::CommandFactory>::command()
        .get_about()
        .map(|a| a.to_string())
        .unwrap_or_default();
    assert_eq!(
        about, first,
        "the README's first sentence and `nightshift --help` differ"
    );
}

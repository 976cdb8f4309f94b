//! The shared parsers on their own; each settings struct's tests check the
//! variables it reads through them.

use super::*;
use std::collections::HashMap;

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn numbers_default_when_blank_and_name_the_range() {
    let get = lookup(&[("N", " "), ("M", "70")]);
    assert_eq!(parse_number(&get, "N", 5, 1..=10).unwrap(), 5);
    let e = parse_number(&get, "M", 5, 1..=64).unwrap_err().to_string();
    assert_eq!(
        e,
        r#"M is invalid: "70" is not a whole number from 1 to 64"#
    );
    assert_eq!(
        e.split(' ').next(),
        Some(
            ConfigError::Invalid {
                name: "M",
                reason: String::new()
            }
            .variable()
        )
    );
}

#[test]
fn flags_secrets_and_lists() {
    let get = lookup(&[("F", "Yes"), ("G", "maybe")]);
    assert!(parse_flag(&get, "F", false).unwrap());
    assert!(!parse_flag(&get, "unset", false).unwrap());
    assert!(parse_flag(&get, "G", false).is_err());
    assert!(secret_value(" \n").is_none());
    assert_eq!(split_list(" Bug, ,Defect"), ["bug", "defect"]);
    assert_eq!(mask_address("jane@example.com"), "j***@example.com");
}

#[test]
fn api_urls_lose_trailing_slashes_and_refuse_clear_text() {
    let get = lookup(&[
        ("A", "https://x.test/"),
        ("B", "http://x.test"),
        ("C", "ftp://x"),
    ]);
    assert_eq!(api_url(&get, "A", "https://d").unwrap(), "https://x.test");
    assert_eq!(api_url(&get, "unset", "https://d").unwrap(), "https://d");
    assert!(
        api_url(&get, "B", "https://d")
            .unwrap_err()
            .to_string()
            .contains("uses http://")
    );
    assert!(
        api_url(&get, "C", "https://d")
            .unwrap_err()
            .to_string()
            .contains("not an http(s) URL")
    );
}

//! The command follows its ecosystem's conventions: the variables it reads are
//! clap arguments shown by `--help` (values of secrets hidden), completions
//! come from clap_complete, and the shipped binary has no `bench`.

use std::process::Command;

fn nightshift(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nightshift"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("CRON_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_names_the_variables_and_hides_secret_values() {
    let env = [
        ("DATABASE_URL", "postgres://u:hunter2-db@localhost/x"),
        ("CRON_SECRET", "hunter2-secret-value"),
    ];
    let (code, help, _) = nightshift(&["--help"], &env);
    assert_eq!(code, 0);
    assert!(help.contains("[env: DATABASE_URL"), "{help}");
    let (code, help, _) = nightshift(&["trigger", "--help"], &env);
    assert_eq!(code, 0);
    for var in ["[env: CRON_SECRET", "[env: BASE_URL", "[env: DATABASE_URL"] {
        assert!(help.contains(var), "{var} missing from:\n{help}");
    }
    let (_, help, _) = nightshift(&["export", "--help"], &env);
    assert!(help.contains("[env: EXPORT_URL"), "{help}");
    let (_, check, _) = nightshift(&["check", "--help"], &env);
    let (code, migrate, _) = nightshift(
        &["migrate", "--help"],
        &[("DATABASE_URL_DIRECT", "postgres://u:hunter2-direct@db/x")],
    );
    assert_eq!(code, 0);
    assert!(migrate.contains("[env: DATABASE_URL_DIRECT"), "{migrate}");
    for text in [help, check, migrate] {
        assert!(
            !text.contains("hunter2"),
            "a secret value is shown:\n{text}"
        );
    }
}

#[test]
fn database_url_flag_reaches_the_command() {
    // An unreachable server named by the flag, not the variable: the error is the
    // connection's, so the flag was used (without it: "DATABASE_URL is not set").
    let (code, _, err) = nightshift(
        &[
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            "runs",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("connecting to DATABASE_URL"), "{err}");
    let (code, _, err) = nightshift(&["runs"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("DATABASE_URL is not set"), "{err}");
}

#[test]
fn completions_for_each_shell() {
    let (code, bash, _) = nightshift(&["completions", "bash"], &[]);
    assert_eq!(code, 0);
    assert!(bash.contains("complete -F _nightshift"), "{bash}");
    assert!(bash.contains("restore"), "subcommands are completed");
    let (code, zsh, _) = nightshift(&["completions", "zsh"], &[]);
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef nightshift"), "{zsh}");
    let (code, fish, _) = nightshift(&["completions", "fish"], &[]);
    assert_eq!(code, 0);
    assert!(fish.contains("complete -c nightshift"), "{fish}");
    let (code, _, err) = nightshift(&["completions", "tcsh"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("bash") && err.contains("fish"), "{err}");
}

/// The shipped binary (default features) has no `bench`; scripts/bench builds
/// the one with `--features bench`.
#[cfg(not(feature = "bench"))]
#[test]
fn the_shipped_binary_has_no_bench() {
    let (code, _, err) = nightshift(&["bench", "hourly"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand 'bench'"), "{err}");
}

//! Running a built binary the way an operator does, for the CLI's tests:
//! its own process, the environment it is given and nothing of the test's.

use std::ffi::OsStr;

/// What a finished command left: its exit code (-1 when killed) and output.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// stdout and stderr together, for assertion messages.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `bin ARGS` against `database_url` with `RUST_LOG=error` and the
/// extra variables in `env`; no variable of the caller's named in `remove`
/// reaches it.
pub async fn run<A: AsRef<OsStr>>(
    bin: &str,
    database_url: &str,
    args: &[A],
    env: &[(&str, &str)],
    remove: &[&str],
) -> Ran {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in remove {
        cmd.env_remove(k);
    }
    let out = cmd.output().await.expect("the binary starts");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

//! A small GitHub REST client for what Nightshift reads: a repository's issues
//! and pull requests, page by page. It follows `Link: rel="next"` and renamed
//! repositories' redirects, sends conditional requests, and reports rate
//! limits and failures as typed errors; what to do about them (wait, stop the
//! repository, fail the task) is the caller's decision.

mod client;
mod error;
mod issue;
mod link;

pub use client::{Fetch, GitHub, MAX_BODY_BYTES, Page, RateLimit, on_api_origin};
pub use error::GitHubError;
pub use issue::{Issue, Label, PullRef, User, is_valid_repo_name};

//! The fields of a GitHub issue Nightshift uses. Pull requests come back in the
//! same list, marked by a `pull_request` object.

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Issue {
    pub number: i32,
    pub title: String,
    pub state: String,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The author.
    pub user: Option<User>,
    /// GitHub's first assignee; older payloads carry only this one.
    #[serde(default)]
    pub assignee: Option<User>,
    /// Every assignee, in GitHub's order (null is read as none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub assignees: Vec<User>,
    pub html_url: Option<String>,
    /// `…/repos/{owner}/{name}`: after a rename, the repository's new name.
    pub repository_url: Option<String>,
    pub pull_request: Option<PullRef>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Object { name: String },
    Name(String),
}

impl Label {
    pub fn name(&self) -> &str {
        match self {
            Self::Object { name } | Self::Name(name) => name,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PullRef {
    pub merged_at: Option<DateTime<Utc>>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<User>, D::Error> {
    Ok(Option::<Vec<User>>::deserialize(d)?.unwrap_or_default())
}

impl Issue {
    /// The assignees in order: `assignees` when GitHub sent any, else the
    /// lone `assignee`.
    pub fn assignee_list(&self) -> Vec<&User> {
        if self.assignees.is_empty() {
            self.assignee.iter().collect()
        } else {
            self.assignees.iter().collect()
        }
    }

    pub fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }

    /// `owner/name` from `repository_url`, when GitHub sent one.
    pub fn repository_full_name(&self) -> Option<String> {
        let url = self.repository_url.as_deref()?;
        let (_, rest) = url.split_once("/repos/")?;
        let mut parts = rest.split('/');
        let (owner, name) = (parts.next()?, parts.next()?);
        Some(format!("{owner}/{name}"))
    }
}

/// `owner/name` as GitHub allows it, and as the `projects.github_repo` CHECK
/// does: letters, digits, `_.-`, owner at most 39 and name at most 100
/// characters, neither `.` nor `..`. The name becomes a URL path, so a name
/// from a response (a rename's redirect) is checked before it is stored.
pub fn is_valid_repo_name(full: &str) -> bool {
    let part = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    };
    matches!(full.split_once('/'), Some((owner, name)) if part(owner, 39) && part(name, 100))
}

#[cfg(test)]
mod name_tests {
    use super::is_valid_repo_name;

    #[test]
    fn names_that_would_escape_their_path_are_refused() {
        assert!(is_valid_repo_name("acme/new-name"));
        assert!(is_valid_repo_name("acme/.github"));
        for bad in ["../..", "acme/..", "./x", "acme", "a/b/c", "acme/", "a b/c"] {
            assert!(!is_valid_repo_name(bad), "{bad}");
        }
        assert!(!is_valid_repo_name(&format!("{}/x", "o".repeat(40))));
        assert!(!is_valid_repo_name(&format!("o/{}", "n".repeat(101))));
    }
}

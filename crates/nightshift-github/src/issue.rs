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
    pub user: Option<User>,
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

impl Issue {
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

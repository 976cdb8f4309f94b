//! Where exports live: an object store and a prefix in it, from `EXPORT_URL`,
//! one folder per day under the prefix.

use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use super::MANIFEST;

pub(super) struct Dest {
    pub store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl Dest {
    /// `s3://bucket/prefix` (credentials and region from the standard AWS_*
    /// variables), `file:///abs/path`, or a plain folder path. A local folder
    /// is created when missing: the first export must not need a setup step.
    pub fn open(url: &str) -> anyhow::Result<Self> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                bail!("export URL {url:?} names no bucket");
            }
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .with_context(|| format!("configuring S3 for bucket {bucket:?}"))?;
            return Ok(Self {
                store: Arc::new(s3),
                prefix: parse_prefix(prefix)?,
            });
        }
        let dir = match url.strip_prefix("file://") {
            Some(path) => path,
            None if url.contains("://") => {
                bail!("export URL {url:?}: only s3://, file:// and folder paths are supported")
            }
            None => url,
        };
        if dir.is_empty() {
            bail!("export URL is empty");
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating export folder {dir:?}"))?;
        // Cleanup removes a date folder once retention has emptied it.
        let fs = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("opening export folder {dir:?}"))?
            .with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(fs),
            prefix: Path::default(),
        })
    }

    pub fn day(&self, date: NaiveDate) -> Path {
        self.prefix
            .clone()
            .join(date.format("%Y-%m-%d").to_string())
    }

    pub fn file(&self, date: NaiveDate, name: &str) -> Path {
        self.day(date).join(name)
    }

    /// Deleting what is not there is fine: local stores say NotFound, S3 not.
    pub async fn delete_if_exists(&self, path: &Path) -> anyhow::Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("deleting {path}")),
        }
    }

    /// Deletes every day folder dated before `cutoff`, manifest first so a
    /// folder half-way through deletion never looks like a complete export.
    /// Anything under the prefix that is not a `YYYY-MM-DD` folder is not ours
    /// and stays.
    pub async fn delete_days_before(&self, cutoff: NaiveDate) -> anyhow::Result<Vec<NaiveDate>> {
        let listing = self
            .store
            .list_with_delimiter(Some(&self.prefix))
            .await
            .with_context(|| format!("listing {}", self.prefix))?;
        let mut deleted = Vec::new();
        for folder in listing.common_prefixes {
            let Some(date) = folder.filename().and_then(parse_day) else {
                continue;
            };
            if date >= cutoff {
                continue;
            }
            self.delete_if_exists(&folder.clone().join(MANIFEST))
                .await?;
            let objects = self.store.list(Some(&folder)).map_ok(|m| m.location);
            self.store
                .delete_stream(objects.boxed())
                .try_collect::<Vec<_>>()
                .await
                .with_context(|| format!("deleting the export in {folder}"))?;
            deleted.push(date);
        }
        deleted.sort();
        Ok(deleted)
    }
}

impl Dest {
    /// Days with a manifest, oldest first: the exports that finished.
    pub async fn complete_days(&self) -> anyhow::Result<Vec<NaiveDate>> {
        let listing = self
            .store
            .list_with_delimiter(Some(&self.prefix))
            .await
            .with_context(|| format!("listing {}", self.prefix))?;
        let mut days = Vec::new();
        for folder in listing.common_prefixes {
            let Some(date) = folder.filename().and_then(parse_day) else {
                continue;
            };
            match self.store.head(&folder.clone().join(MANIFEST)).await {
                Ok(_) => days.push(date),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e).with_context(|| format!("reading {folder}")),
            }
        }
        days.sort();
        Ok(days)
    }
}

fn parse_prefix(prefix: &str) -> anyhow::Result<Path> {
    Path::parse(prefix.trim_matches('/'))
        .with_context(|| format!("export prefix {prefix:?} is not a valid object path"))
}

/// Strict: `2026-1-5` is not a folder this task wrote.
fn parse_day(name: &str) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()?;
    (date.format("%Y-%m-%d").to_string() == name).then_some(date)
}

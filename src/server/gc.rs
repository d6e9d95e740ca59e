//! Garbage collection of a registry's store: every blob reachable from a
//! repository's manifests (those kept by digest, those tags name, those
//! recorded as referrers, and what their indexes name) is marked; every
//! other blob last written before the run started, less a grace period, is
//! removed. A blob written during the grace period — an upload in flight,
//! or pushed ahead of its manifest — is kept, so a collection is safe while
//! servers serve, with one limit: a client that finds an old unreferenced
//! blob already there (by `HEAD` or a mount) and names it in a manifest
//! while the collection runs may lose it; keep the grace period longer
//! than a push takes. On S3, uploads abandoned for longer than the grace
//! period are removed too.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::storage::{self, Storage};
use super::uploads;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ManifestContent};
use crate::s3::{Bucket, S3Config, S3Store};

/// What to collect, and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcOptions {
    /// The store's directory (as `stevedore serve --root`).
    pub root: Option<PathBuf>,
    /// The store's bucket (as `stevedore serve --s3`), instead of `root`.
    pub s3: Option<S3Config>,
    /// Report what would be removed, remove nothing. Defaults to false.
    pub dry_run: bool,
    /// Seconds before the run's start within which a blob is kept even
    /// when nothing names it. Defaults to 3600.
    pub grace_secs: f64,
}

impl Default for GcOptions {
    fn default() -> GcOptions {
        GcOptions {
            root: None,
            s3: None,
            dry_run: false,
            grace_secs: 3600.0,
        }
    }
}

/// What a collection found and removed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GcReport {
    /// Whether nothing was removed (a dry run).
    pub dry_run: bool,
    /// Blobs reachable from a manifest, kept.
    pub marked: u64,
    /// Unreachable blobs kept because they are younger than the grace period.
    pub kept_recent: u64,
    /// Unreachable blobs removed (or, in a dry run, to remove).
    pub removed: u64,
    /// Their bytes.
    pub removed_bytes: u64,
    /// Abandoned uploads removed (S3).
    pub removed_uploads: u64,
}

/// A blob in the store: its digest, size and last write.
type Listed = (Digest, u64, Option<SystemTime>);

/// Every blob of an on-disk store under `root`.
fn list_dir(root: &std::path::Path) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    let blobs = root.join("blobs");
    let algorithms = match std::fs::read_dir(&blobs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(format!("reading {}", blobs.display()), e)),
    };
    for algorithm in algorithms {
        let algorithm = algorithm.map_err(|e| Error::io("listing blobs", e))?;
        let dir = algorithm.path();
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
            let name = format!(
                "{}:{}",
                algorithm.file_name().to_string_lossy(),
                entry.file_name().to_string_lossy()
            );
            let Ok(digest) = name.parse::<Digest>() else {
                continue;
            };
            let meta = entry
                .metadata()
                .map_err(|e| Error::io(format!("reading {}", entry.path().display()), e))?;
            out.push((digest, meta.len(), meta.modified().ok()));
        }
    }
    Ok(out)
}

/// Marks manifest `digest` and everything it names.
fn mark(
    storage: &Storage,
    digest: &Digest,
    media_type: Option<&str>,
    marked: &mut BTreeSet<Digest>,
) {
    if !marked.insert(digest.clone()) {
        return;
    }
    let Ok(bytes) = storage.manifest_bytes(digest) else {
        return;
    };
    let Ok(manifest) = Manifest::from_bytes(bytes, media_type) else {
        return;
    };
    match manifest.content() {
        ManifestContent::Image(image) => {
            for blob in std::iter::once(&image.config).chain(&image.layers) {
                marked.insert(blob.digest.clone());
            }
        }
        ManifestContent::Index(index) => {
            for child in &index.manifests {
                mark(storage, &child.digest, Some(&child.media_type), marked);
            }
        }
    }
}

/// Collects the garbage of the store `options` names.
///
/// Errors: `InvalidInput` unless exactly one of `root` and `s3` is given,
/// for a negative grace period, or when `root` is not a registry store
/// (no `meta/` directory: an OCI image layout, say; nothing is removed);
/// `NotFound` when `root` does not exist; the store's own errors (`Io`, `NotFound`
/// for a missing bucket, `Unauthorized`, `Network`).
pub fn gc(options: &GcOptions) -> Result<GcReport> {
    let grace = Duration::try_from_secs_f64(options.grace_secs)
        .map_err(|_| Error::invalid("\"grace_secs\" must be a number of seconds, 0 or more"))?;
    let started = SystemTime::now();
    let cutoff = started.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
    let (storage, bucket) = match (&options.root, &options.s3) {
        (Some(root), None) => {
            storage::check_store(root)?;
            (Storage::on_disk(root, false), None)
        }
        (None, Some(config)) => {
            let bucket = Arc::new(Bucket::connect(config)?);
            (Storage::in_bucket(Arc::clone(&bucket), false), Some(bucket))
        }
        _ => {
            return Err(Error::invalid(
                "garbage collection needs the store: a directory (root) or a bucket (s3)",
            ))
        }
    };
    let mut marked = BTreeSet::new();
    for repo in storage.repositories()? {
        for digest in storage.manifest_digests(&repo)? {
            let media_type = storage.manifest_type(&repo, &digest)?;
            mark(&storage, &digest, media_type.as_deref(), &mut marked);
        }
        for tag in storage.tags(&repo)? {
            if let Some(digest) = storage.resolve_tag(&repo, &tag)? {
                let media_type = storage.manifest_type(&repo, &digest)?;
                mark(&storage, &digest, media_type.as_deref(), &mut marked);
            }
        }
    }
    let listed = match (&options.root, &bucket) {
        (_, Some(bucket)) => S3Store::new(Arc::clone(bucket)).list()?,
        (Some(root), None) => list_dir(root)?,
        (None, None) => Vec::new(),
    };
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    for (digest, size, modified) in listed {
        if marked.contains(&digest) {
            report.marked += 1;
        } else if modified.is_none_or(|m| m > cutoff) {
            report.kept_recent += 1;
        } else {
            if !options.dry_run {
                match storage.blobs.delete(&digest) {
                    Err(e) if e.kind() != crate::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            report.removed += 1;
            report.removed_bytes += size;
        }
    }
    if let Some(bucket) = &bucket {
        report.removed_uploads = sweep_uploads(bucket, cutoff, options.dry_run)?;
    }
    Ok(report)
}

/// Removes the uploads whose every object is older than `cutoff`.
fn sweep_uploads(bucket: &Bucket, cutoff: SystemTime, dry_run: bool) -> Result<u64> {
    let (objects, _) = bucket.list("uploads/", true)?;
    let mut newest: std::collections::BTreeMap<String, Option<SystemTime>> = Default::default();
    for object in objects {
        let Some((id, _)) = object.name.split_once('/') else {
            continue;
        };
        let entry = newest.entry(id.to_owned()).or_insert(object.modified);
        *entry = (*entry).max(object.modified);
    }
    let mut removed = 0;
    for (id, newest) in newest {
        if newest.is_some_and(|m| m <= cutoff) {
            if !dry_run {
                uploads::remove_remote(bucket, &id)?;
            }
            removed += 1;
        }
    }
    Ok(removed)
}

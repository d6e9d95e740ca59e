//! The registry's small records — tags, manifest and blob links, referrers —
//! as keys (`repos/NAME/tags/TAG`) with small values: files under the root,
//! each replaced atomically, objects in a bucket, or a map in memory.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::listing_cache::ListingCache;
use crate::error::{Error, Result};
use crate::new_file::{temp_file_in, FILE_MODE};
use crate::s3::Bucket;

/// A store of small records by key. Keys are `/`-separated; [`Meta::list`]
/// gives the names one level below a prefix.
pub trait Meta: Send + Sync {
    /// The value of `key`, if set.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets `key` to `value`, replacing it whole.
    fn put(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Sets `key`, whose value never changes once set (a content-addressed
    /// record), to `value`; a store may skip the write when `key` is set.
    fn put_new(&self, key: &str, value: &[u8]) -> Result<()> {
        self.put(key, value)
    }
    /// Removes `key`; whether it was there.
    fn delete(&self, key: &str) -> Result<bool>;
    /// The names directly below `prefix` (which ends with `/`), sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
}

/// Flushes the file or directory at `path` to disk (`fsync`).
pub fn sync_path(path: &Path) -> io::Result<()> {
    fs::File::open(path)?.sync_all()
}

/// Records as files under a directory.
pub struct FsMeta {
    root: PathBuf,
    durable: bool,
    listings: ListingCache,
}

impl FsMeta {
    /// Records under `root`, each flushed to disk with its directory before
    /// [`Meta::put`] returns when `durable`.
    pub fn new(root: PathBuf, durable: bool) -> FsMeta {
        FsMeta {
            root,
            durable,
            listings: ListingCache::default(),
        }
    }
}

impl Meta for FsMeta {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.root.join(key);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Written to a temporary file and renamed over the old one: a reader or
    /// a restart after a kill sees the old value or the new one. When
    /// durable, the file is flushed before the rename, and its directory
    /// after (with the directories above it that this call created).
    fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        let path = self.root.join(key);
        let dir = path.parent().unwrap_or(&self.root);
        let fail = |e| Error::io(format!("writing {}", path.display()), e);
        let existed = dir.is_dir();
        fs::create_dir_all(dir).map_err(fail)?;
        let mut temp = temp_file_in(dir, ".stevedore-", FILE_MODE).map_err(fail)?;
        temp.write_all(value).map_err(fail)?;
        if self.durable {
            temp.as_file().sync_all().map_err(fail)?;
        }
        temp.persist(&path).map_err(|e| fail(e.error))?;
        if self.durable {
            let top = self.root.parent().unwrap_or(&self.root);
            for ancestor in dir.ancestors() {
                sync_path(ancestor).map_err(fail)?;
                if existed || ancestor == top {
                    break;
                }
            }
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let path = self.root.join(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let dir = self.root.join(prefix);
        let meta = match fs::metadata(&dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
        };
        self.listings.list(&dir, &meta, || read_names(&dir))
    }
}

/// The sorted names in `dir`, leaving out the temporary files (`.`-named).
fn read_names(dir: &Path) -> Result<Vec<String>> {
    let fail = |e| Error::io(format!("reading {}", dir.display()), e);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(fail(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry
            .map_err(fail)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Records in memory.
#[derive(Default)]
pub struct MemoryMeta {
    records: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl Meta for MemoryMeta {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let records = self.records.read().unwrap_or_else(|p| p.into_inner());
        Ok(records.get(key).cloned())
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        let mut records = self.records.write().unwrap_or_else(|p| p.into_inner());
        records.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let mut records = self.records.write().unwrap_or_else(|p| p.into_inner());
        Ok(records.remove(key).is_some())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let records = self.records.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = records
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, _)| k[prefix.len()..].split('/').next().map(str::to_owned))
            .collect();
        names.dedup();
        Ok(names)
    }
}

/// The object name of record `key`: under `meta/`, with the `+` that stands
/// for a repository name's `/` written `~` (neither is allowed in names),
/// since some services read a `+` in a listing's prefix as a space.
fn object_of(key: &str) -> String {
    format!("meta/{}", key.replace('+', "~"))
}

/// Records as objects under `meta/` in a bucket. Content-addressed records
/// (blob and manifest links, referrers) are written with `If-None-Match: *`
/// where the service honours it; tags are written whole and the last writer
/// wins, as with docker-registry on S3.
pub struct S3Meta {
    bucket: Arc<Bucket>,
}

impl S3Meta {
    /// Records in `bucket`.
    pub fn new(bucket: Arc<Bucket>) -> S3Meta {
        S3Meta { bucket }
    }
}

impl Meta for S3Meta {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.bucket.get(&object_of(key))
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        self.bucket.put(&object_of(key), value, false)?;
        Ok(())
    }

    fn put_new(&self, key: &str, value: &[u8]) -> Result<()> {
        self.bucket.put(&object_of(key), value, true)?;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let name = object_of(key);
        if self.bucket.head(&name)?.is_none() {
            return Ok(false);
        }
        self.bucket.delete(&name)?;
        Ok(true)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let (objects, folders) = self.bucket.list(&object_of(prefix), false)?;
        let mut names: Vec<String> = objects
            .into_iter()
            .map(|o| o.name)
            .chain(folders)
            .map(|n| n.replace('~', "+"))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(meta: &dyn Meta) {
        meta.put("repos/a+b/tags/v1", b"x").unwrap();
        meta.put("repos/a+b/tags/v2", b"y").unwrap();
        meta.put("repos/c/blobs/sha256-00", b"").unwrap();
        assert_eq!(meta.get("repos/a+b/tags/v1").unwrap().unwrap(), b"x");
        assert_eq!(meta.list("repos/").unwrap(), ["a+b", "c"]);
        assert_eq!(meta.list("repos/a+b/tags/").unwrap(), ["v1", "v2"]);
        assert!(meta.delete("repos/a+b/tags/v1").unwrap());
        assert!(!meta.delete("repos/a+b/tags/v1").unwrap());
        assert_eq!(meta.get("repos/a+b/tags/v1").unwrap(), None);
        assert_eq!(meta.list("repos/none/").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn memory_and_files_behave_alike() {
        exercise(&MemoryMeta::default());
        let dir = tempfile::tempdir().unwrap();
        exercise(&FsMeta::new(dir.path().to_owned(), false));
        exercise(&FsMeta::new(dir.path().join("durable"), true));
    }
}

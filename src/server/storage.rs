//! What the registry holds: blobs in a [`Store`] shared by all repositories,
//! and per repository the records of which blobs and manifests it has, its
//! tags, and which manifests refer to which (for the referrers API).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ManifestContent};
use crate::store::{FsStore, Store};

use super::meta::{sync_path, FsMeta, Meta, S3Meta};
use crate::s3::{Bucket, S3Store};

/// Blobs and records.
pub struct Storage {
    pub blobs: Box<dyn Store>,
    meta: Box<dyn Meta>,
    /// The blob files to flush before a manifest PUT is answered, when the
    /// storage is durable.
    durable: Option<FsStore>,
    /// The bucket blob GETs are redirected to, with presigned URLs.
    redirect: Option<S3Store>,
    /// Locks serialising the changes to a repository's manifests and tags
    /// (a repository takes the one its name hashes to), so that a DELETE
    /// racing a PUT never leaves a tag naming a manifest that is gone.
    stripes: [Mutex<()>; STRIPES],
}

/// How many locks the repositories share.
const STRIPES: usize = 64;

/// Builds the locks.
fn stripes() -> [Mutex<()>; STRIPES] {
    std::array::from_fn(|_| Mutex::new(()))
}

/// The directory under a store's root that holds its records (manifests,
/// tags, referrers): what marks a directory as a registry store.
pub const META_DIR: &str = "meta";

/// Makes `root` a registry store: creates it and its `meta/` directory
/// when missing, so that even a store nothing was pushed to yet is
/// recognised as one (by [`check_store`]).
///
/// Errors: `Io` when a directory cannot be created.
pub fn prepare(root: &Path) -> Result<()> {
    let meta = root.join(META_DIR);
    fs::create_dir_all(&meta).map_err(|e| Error::io(format!("creating {}", meta.display()), e))
}

/// Checks that `root` is a registry store `stevedore serve` made (it has
/// a `meta/` directory), before anything in it is removed.
///
/// Errors: `NotFound` when `root` does not exist; `InvalidInput` when it
/// is not a directory or has no `meta/` directory (an OCI image layout,
/// say); `Io` when it cannot be read.
pub fn check_store(root: &Path) -> Result<()> {
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{} is not a directory, so not a stevedore registry store",
                root.display()
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::not_found(format!(
                "the store {} does not exist",
                root.display()
            )))
        }
        Err(e) => return Err(Error::io(format!("reading {}", root.display()), e)),
    }
    let meta = root.join(META_DIR);
    match fs::metadata(&meta) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(not_a_store(root)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(not_a_store(root)),
        Err(e) => Err(Error::io(format!("reading {}", meta.display()), e)),
    }
}

fn not_a_store(root: &Path) -> Error {
    Error::invalid(format!(
        "{} is not a stevedore registry store (no {META_DIR}/ directory, as `stevedore serve --root` \
         makes); gc never touches other directories, such as an OCI image layout",
        root.display()
    ))
}

/// Removes the temporary files (`.stevedore-*`) a killed server left among
/// the blobs and records under `root`. Run before serving, when no write
/// can be in flight.
pub fn remove_leftovers(root: &Path) -> Result<()> {
    fn sweep(dir: &Path) -> io::Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                sweep(&entry.path())?;
            } else if entry
                .file_name()
                .as_encoded_bytes()
                .starts_with(b".stevedore-")
            {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }
    for dir in [root.join("blobs"), root.join("meta")] {
        sweep(&dir).map_err(|e| {
            Error::io(
                format!("removing temporary files under {}", dir.display()),
                e,
            )
        })?;
    }
    Ok(())
}

/// The record key part of a digest (`sha256-HEX`).
fn key_of(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm().as_str(), digest.hex())
}

fn digest_of(key: &str) -> Option<Digest> {
    let (algorithm, hex) = key.split_once('-')?;
    format!("{algorithm}:{hex}").parse().ok()
}

impl Storage {
    /// Storage over `blobs` and `meta`, kept in memory.
    pub fn new(blobs: Box<dyn Store>, meta: Box<dyn Meta>) -> Storage {
        Storage {
            blobs,
            meta,
            durable: None,
            redirect: None,
            stripes: stripes(),
        }
    }

    /// Storage in `bucket`: blobs under `blobs/`, records under `meta/`;
    /// blob GETs answered with a redirect to a presigned URL when
    /// `redirect`, else streamed from the bucket.
    pub fn in_bucket(bucket: Arc<Bucket>, redirect: bool) -> Storage {
        let blobs = S3Store::new(Arc::clone(&bucket));
        Storage {
            redirect: redirect.then(|| blobs.clone()),
            blobs: Box::new(blobs),
            meta: Box::new(S3Meta::new(bucket)),
            durable: None,
            stripes: stripes(),
        }
    }

    /// The URL to redirect a GET of blob `digest` to, if any.
    pub fn redirect(&self, digest: &Digest) -> Option<String> {
        self.redirect
            .as_ref()
            .map(|store| store.presigned(digest).to_string())
    }

    /// Storage in files under `root` (blobs in the OCI layout's
    /// `blobs/ALG/HEX`, records under `meta/`), flushing what a manifest
    /// PUT acknowledges when `durable`.
    pub fn on_disk(root: &Path, durable: bool) -> Storage {
        let blobs = FsStore::new(root).cached();
        Storage {
            blobs: Box::new(blobs.clone()),
            meta: Box::new(FsMeta::new(root.join(META_DIR), durable)),
            durable: durable.then_some(blobs),
            redirect: None,
            stripes: stripes(),
        }
    }

    /// Holds repository `name`'s manifests and tags still.
    fn lock(&self, name: &str) -> MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        name.hash(&mut hasher);
        self.stripes[(hasher.finish() % STRIPES as u64) as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Flushes the files of `manifest` and of the blobs it names (not
    /// manifests an index names: their own PUT flushed them), then their
    /// directories.
    fn flush(&self, manifest: &Manifest) -> Result<()> {
        let Some(store) = &self.durable else {
            return Ok(());
        };
        let mut digests = vec![manifest.digest()];
        if let ManifestContent::Image(image) = manifest.content() {
            digests.extend(
                std::iter::once(&image.config)
                    .chain(&image.layers)
                    .filter(|b| b.urls.is_empty())
                    .map(|b| &b.digest),
            );
        }
        let mut dirs: Vec<&Path> = Vec::new();
        let paths: Vec<_> = digests.iter().map(|d| store.blob_path(d)).collect();
        for path in &paths {
            sync_path(path).map_err(|e| Error::io(format!("flushing {}", path.display()), e))?;
            if let Some(dir) = path.parent() {
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
        }
        let blobs = store.root().join("blobs");
        for dir in dirs.into_iter().chain([blobs.as_path(), store.root()]) {
            sync_path(dir).map_err(|e| Error::io(format!("flushing {}", dir.display()), e))?;
        }
        Ok(())
    }

    /// The records of repository `name` (its `/` written as `+`, which names
    /// cannot hold).
    fn repo(name: &str) -> String {
        format!("repos/{}", name.replace('/', "+"))
    }

    /// Whether the repository has anything.
    pub fn repo_exists(&self, name: &str) -> Result<bool> {
        Ok(!self
            .meta
            .list(&format!("{}/", Self::repo(name)))?
            .is_empty())
    }

    /// Every repository, sorted.
    pub fn repositories(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .meta
            .list("repos/")?
            .into_iter()
            .map(|n| n.replace('+', "/"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Records that the repository has the blob.
    pub fn link_blob(&self, name: &str, digest: &Digest) -> Result<()> {
        self.meta.put_new(
            &format!("{}/blobs/{}", Self::repo(name), key_of(digest)),
            b"",
        )
    }

    /// Whether the repository has the blob (and the store still holds it):
    /// its size.
    pub fn blob_in(&self, name: &str, digest: &Digest) -> Result<Option<u64>> {
        let key = format!("{}/blobs/{}", Self::repo(name), key_of(digest));
        if self.meta.get(&key)?.is_none() {
            return Ok(None);
        }
        self.blobs.stat(digest)
    }

    /// Forgets that the repository has the blob; whether it had it.
    pub fn unlink_blob(&self, name: &str, digest: &Digest) -> Result<bool> {
        self.meta
            .delete(&format!("{}/blobs/{}", Self::repo(name), key_of(digest)))
    }

    /// The media type of manifest `digest` when the repository has it.
    pub fn manifest_type(&self, name: &str, digest: &Digest) -> Result<Option<String>> {
        let key = format!("{}/manifests/{}", Self::repo(name), key_of(digest));
        Ok(self
            .meta
            .get(&key)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The digests of the repository's manifests.
    pub fn manifest_digests(&self, name: &str) -> Result<Vec<Digest>> {
        let keys = self
            .meta
            .list(&format!("{}/manifests/", Self::repo(name)))?;
        Ok(keys.iter().filter_map(|k| digest_of(k)).collect())
    }

    /// The digest tag `tag` points to.
    pub fn resolve_tag(&self, name: &str, tag: &str) -> Result<Option<Digest>> {
        let key = format!("{}/tags/{tag}", Self::repo(name));
        Ok(self
            .meta
            .get(&key)?
            .and_then(|v| String::from_utf8_lossy(&v).parse().ok()))
    }

    /// Stores a manifest (whose references the caller checked), tags it, and
    /// records it as a referrer of its subject. When durable, the manifest
    /// and its blobs are on disk before any record names it, and the
    /// records are when this returns.
    pub fn put_manifest(&self, name: &str, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        let repo = Self::repo(name);
        let digest = manifest.digest();
        self.blobs.put(
            digest,
            Some(manifest.raw().len() as u64),
            &mut manifest.raw(),
        )?;
        self.flush(manifest)?;
        let _still = self.lock(name);
        self.meta.put_new(
            &format!("{repo}/manifests/{}", key_of(digest)),
            manifest.media_type().as_bytes(),
        )?;
        if let Some(subject) = manifest.subject() {
            let value = serde_json::to_vec(&manifest.referrer_descriptor()).unwrap_or_default();
            self.meta.put_new(
                &format!(
                    "{repo}/referrers/{}/{}",
                    key_of(&subject.digest),
                    key_of(digest)
                ),
                &value,
            )?;
        }
        if let Some(tag) = tag {
            self.meta
                .put(&format!("{repo}/tags/{tag}"), digest.to_string().as_bytes())?;
        }
        Ok(())
    }

    /// The bytes of manifest `digest`.
    pub fn manifest_bytes(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut self.blobs.open(digest)?, &mut bytes)
            .map_err(|e| crate::error::Error::io(format!("reading manifest {digest}"), e))?;
        Ok(bytes)
    }

    /// Removes manifest `digest` from the repository, with its tags and its
    /// referrer record; whether it was there.
    pub fn delete_manifest(&self, name: &str, digest: &Digest) -> Result<bool> {
        let repo = Self::repo(name);
        let _still = self.lock(name);
        let Some(media_type) = self.manifest_type(name, digest)? else {
            return Ok(false);
        };
        if let Ok(manifest) = Manifest::from_bytes(self.manifest_bytes(digest)?, Some(&media_type))
        {
            if let Some(subject) = manifest.subject() {
                self.meta.delete(&format!(
                    "{repo}/referrers/{}/{}",
                    key_of(&subject.digest),
                    key_of(digest)
                ))?;
            }
        }
        for tag in self.tags(name)? {
            if self.resolve_tag(name, &tag)?.as_ref() == Some(digest) {
                self.meta.delete(&format!("{repo}/tags/{tag}"))?;
            }
        }
        self.meta
            .delete(&format!("{repo}/manifests/{}", key_of(digest)))
    }

    /// Removes a tag; whether it was there.
    pub fn delete_tag(&self, name: &str, tag: &str) -> Result<bool> {
        let _still = self.lock(name);
        self.meta
            .delete(&format!("{}/tags/{tag}", Self::repo(name)))
    }

    /// The repository's tags, sorted.
    pub fn tags(&self, name: &str) -> Result<Vec<String>> {
        self.meta.list(&format!("{}/tags/", Self::repo(name)))
    }

    /// The descriptors of the manifests whose subject is `subject`.
    pub fn referrers(&self, name: &str, subject: &Digest) -> Result<Vec<Descriptor>> {
        let prefix = format!("{}/referrers/{}/", Self::repo(name), key_of(subject));
        let mut out = Vec::new();
        for key in self.meta.list(&prefix)? {
            if digest_of(&key).is_none() {
                continue;
            }
            if let Some(value) = self.meta.get(&format!("{prefix}{key}"))? {
                if let Ok(descriptor) = serde_json::from_slice(&value) {
                    out.push(descriptor);
                }
            }
        }
        Ok(out)
    }
}

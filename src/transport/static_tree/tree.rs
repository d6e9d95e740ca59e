//! The files of a static registry tree: where each part lives, how it is
//! written (a temporary file in `tmp/`, then a rename, so no client reads a
//! half-written file), the lock that orders writers, and the list of
//! manifests the tree serves (what a web-server configuration is made from).
//!
//! ```text
//! DIR/stevedore-static.json          marker: the tree is ours
//! DIR/repositories.json              ["library/app", …], sorted
//! DIR/blobs/<alg>/<hex>              every blob, once
//! DIR/types/<alg>/<hex>              the media type of manifest <alg>:<hex>
//! DIR/tmp/                           temporary files (same file system)
//! DIR/v2/index.json                  the body of GET /v2/ ({})
//! DIR/v2/<name>/manifests/<tag>      a manifest's exact bytes (a hard link
//! DIR/v2/<name>/manifests/<alg>:<hex>  of its digest file where possible)
//! DIR/v2/<name>/blobs/<alg>:<hex>    a hard link of DIR/blobs/<alg>/<hex>
//! DIR/v2/<name>/tags/list            {"name": …, "tags": […]}
//! ```

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::super::layout_files::{read_capped, write_atomically};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, MANIFEST_SIZE_MAX};

/// The marker file saying a directory is a static registry tree.
pub const MARKER: &str = "stevedore-static.json";
const MARKER_CONTENT: &[u8] = br#"{"stevedoreStaticTree":1}"#;
const REPOSITORIES: &str = "repositories.json";
/// The body of `GET /v2/`, as a file below the tree.
pub const V2_BODY_FILE: &str = "v2/index.json";

/// One manifest URL the tree serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Served {
    /// The URL path, `/v2/<name>/manifests/<tag or digest>`.
    pub path: String,
    /// The manifest's media type, for `Content-Type`.
    pub media_type: String,
    /// The manifest's digest, for `Docker-Content-Digest`.
    pub digest: Digest,
}

/// The directory of a static registry tree.
#[derive(Debug, Clone)]
pub struct Tree {
    root: PathBuf,
}

impl Tree {
    /// The tree at `root` (nothing is read or written yet).
    pub fn new(root: impl Into<PathBuf>) -> Tree {
        Tree { root: root.into() }
    }

    /// The tree's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `dir` holds a tree's marker file.
    pub fn is_tree(dir: &Path) -> bool {
        dir.join(MARKER).is_file()
    }

    pub(super) fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("v2").join(name)
    }

    pub(super) fn manifest_path(&self, name: &str, reference: &str) -> PathBuf {
        self.repo_dir(name).join("manifests").join(reference)
    }

    pub(super) fn blob_path(&self, name: &str, digest: &Digest) -> PathBuf {
        self.repo_dir(name).join("blobs").join(digest.to_string())
    }

    fn type_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("types")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Makes the tree ready for writing: created when missing; a directory
    /// that exists must be empty or hold the marker. (Callers in one
    /// process serialise it; the marker is written first, so a second
    /// process finds a tree.)
    pub fn ensure(&self) -> Result<()> {
        if Tree::is_tree(&self.root) {
            return Ok(());
        }
        fs::create_dir_all(&self.root)
            .map_err(|e| Error::io(format!("creating {}", self.root.display()), e))?;
        let mut entries = fs::read_dir(&self.root)
            .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?;
        if let Some(entry) = entries.next() {
            let name = entry
                .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?
                .file_name();
            return Err(Error::invalid(format!(
                "{} is not a static registry tree (it has no {MARKER}) and is not empty (it \
                 holds {name:?}); choose an empty or new directory",
                self.root.display()
            )));
        }
        self.write(&self.root.join(MARKER), MARKER_CONTENT)?;
        self.write(&self.root.join(V2_BODY_FILE), b"{}")
    }

    /// Writes `bytes` to `path` (below the tree) through a temporary file and
    /// a rename; parents are created.
    pub(super) fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = self.tmp();
        for dir in [tmp.as_path(), path.parent().unwrap_or(&self.root)] {
            fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        write_atomically(&tmp, path, bytes)
    }

    /// Makes `to` the same file as `from`: a hard link where the file system
    /// allows, a copy otherwise; made under a temporary name and renamed, so
    /// `to` is whole whenever it is seen.
    pub(super) fn link(&self, from: &Path, to: &Path) -> Result<()> {
        let tmp = self.tmp();
        let parent = to.parent().unwrap_or(&self.root);
        for dir in [tmp.as_path(), parent] {
            fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let temp = tempfile::Builder::new()
            .prefix(".stevedore-")
            .make_in(&tmp, |path| match fs::hard_link(from, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
                Err(_) => fs::copy(from, path).map(drop),
            })
            .map_err(|e| Error::io(format!("linking {} to {}", from.display(), to.display()), e))?;
        temp.persist(to)
            .map_err(|e| Error::io(format!("writing {}", to.display()), e.error))?;
        Ok(())
    }

    /// Runs `change` while holding the tree's lock, which excludes other
    /// writers of this process and of others (the marker file, locked).
    pub(super) fn locked<T>(&self, change: impl FnOnce() -> Result<T>) -> Result<T> {
        let path = self.root.join(MARKER);
        let file =
            File::open(&path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        file.lock()
            .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
        change()
    }

    /// Records the media type of the manifest `manifest`.
    pub(super) fn put_type(&self, manifest: &Manifest) -> Result<()> {
        let path = self.type_path(manifest.digest());
        if path.is_file() {
            return Ok(());
        }
        self.write(&path, manifest.media_type().as_bytes())
    }

    /// The recorded media type of the manifest `digest`, if any.
    pub(super) fn media_type(&self, digest: &Digest) -> Result<Option<String>> {
        match fs::read_to_string(self.type_path(digest)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(
                format!(
                    "reading the media type of {digest} in {}",
                    self.root.display()
                ),
                e,
            )),
        }
    }

    /// The manifest at `path` with its recorded media type; verified
    /// against `expected` when given.
    pub(super) fn read_manifest(&self, path: &Path, expected: Option<&Digest>) -> Result<Manifest> {
        let raw = read_capped(path, MANIFEST_SIZE_MAX)?;
        let digest = match expected {
            Some(d) => d.clone(),
            None => Digest::sha256(&raw),
        };
        let declared = self.media_type(&digest)?;
        let manifest = match expected {
            Some(d) => Manifest::from_bytes_verified(raw, declared.as_deref(), d),
            None => Manifest::from_bytes(raw, declared.as_deref()),
        };
        manifest.map_err(|e| e.context(format!("{} holds a bad manifest", path.display())))
    }

    /// The repositories of the tree, sorted.
    pub fn repositories(&self) -> Result<Vec<String>> {
        let path = self.root.join(REPOSITORIES);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::invalid(format!("{} is not a list of names: {e}", path.display()))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Adds `name` to the repositories (call under the lock).
    pub(super) fn add_repository(&self, name: &str) -> Result<()> {
        let mut names = self.repositories()?;
        if names.iter().any(|n| n == name) {
            return Ok(());
        }
        names.push(name.to_owned());
        names.sort();
        let bytes = serde_json::to_vec(&names)
            .map_err(|e| Error::invalid(format!("cannot serialise {REPOSITORIES}: {e}")))?;
        self.write(&self.root.join(REPOSITORIES), &bytes)
    }

    /// The files of `name`'s manifests directory: tags and digests, sorted.
    fn manifest_files(&self, name: &str) -> Result<Vec<String>> {
        let dir = self.repo_dir(name).join("manifests");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
        files.sort();
        Ok(files)
    }

    /// The tags of `name`, sorted.
    pub(super) fn tags(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .manifest_files(name)?
            .into_iter()
            .filter(|f| f.parse::<Digest>().is_err())
            .collect())
    }

    /// Rewrites `name`'s `tags/list` from its manifests directory (call
    /// under the lock).
    pub(super) fn write_tags_list(&self, name: &str) -> Result<()> {
        let body = serde_json::json!({ "name": name, "tags": self.tags(name)? });
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| Error::invalid(format!("cannot serialise tags/list: {e}")))?;
        self.write(&self.repo_dir(name).join("tags").join("list"), &bytes)
    }

    /// Every manifest URL of every repository, with the media type and
    /// digest to serve it with, sorted by path.
    pub fn served(&self) -> Result<Vec<Served>> {
        let mut out = Vec::new();
        for name in self.repositories()? {
            for file in self.manifest_files(&name)? {
                let path = self.manifest_path(&name, &file);
                let expected = file.parse::<Digest>().ok();
                let manifest = self.read_manifest(&path, expected.as_ref())?;
                out.push(Served {
                    path: format!("/v2/{name}/manifests/{file}"),
                    media_type: manifest.media_type().to_owned(),
                    digest: manifest.digest().clone(),
                });
            }
        }
        Ok(out)
    }
}

//! The `dir:PATH` transport: skopeo's flat directory of one image — a
//! `version` file, the top-level manifest in `manifest.json`, the manifests an
//! index lists in `HEX.manifest.json`, and every blob in a file named by its
//! hex digest.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::layout_files::{read_capped, verified_blob, write_atomically, CreatedRoot};
use super::{ImageRef, Selector, Transport};
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{Manifest, MANIFEST_SIZE_MAX};
use crate::store::{FsStore, Store};

const VERSION_FILE: &str = "version";
const VERSION_CONTENT: &[u8] = b"Directory Transport Version: 1.1\n";
const MANIFEST_FILE: &str = "manifest.json";

/// A directory holding one image the way `skopeo copy … dir:PATH` writes it.
pub struct Dir {
    root: PathBuf,
    store: FsStore,
    init_lock: Mutex<()>,
    /// The directories this handle created for its root, removed by `abort`.
    created: CreatedRoot,
}

/// Parses the part after `dir:`: a path, and nothing else.
pub(super) fn parse(rest: &str) -> Result<ImageRef> {
    if rest.is_empty() {
        return Err(Error::invalid(
            "dir: needs a directory, as in dir:/images/app",
        ));
    }
    Ok(ImageRef::new(Arc::new(Dir::new(rest)), None))
}

impl Dir {
    /// The directory at `root` (read lazily; created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Dir {
        let root = root.into();
        Dir {
            store: FsStore::flat(&root),
            root,
            init_lock: Mutex::new(()),
            created: CreatedRoot::default(),
        }
    }

    fn child_file(digest: &Digest) -> String {
        format!("{}.manifest.json", digest.hex())
    }

    fn read_manifest_file(&self, file: &str, expected: Option<&Digest>) -> Result<Manifest> {
        let path = self.root.join(file);
        let raw = read_capped(&path, MANIFEST_SIZE_MAX).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(format!(
                    "{} holds no image: {} is missing",
                    self.name(),
                    path.display()
                ))
            } else {
                e
            }
        })?;
        let manifest = match expected {
            Some(digest) => Manifest::from_bytes_verified(raw, None, digest),
            None => Manifest::from_bytes(raw, None),
        };
        manifest.map_err(|e| e.context(format!("{} holds a bad manifest", self.name())))
    }

    /// Makes the directory ready for writing: created with its missing
    /// parents when missing; one that exists must be empty or hold a `dir:`
    /// image already.
    fn ensure_dir(&self) -> Result<()> {
        let version = self.root.join(VERSION_FILE);
        if version.exists() {
            return Ok(());
        }
        let _init = self.init_lock.lock().unwrap_or_else(|p| p.into_inner());
        if version.exists() {
            return Ok(());
        }
        match self.created.create(&self.root) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mut entries = fs::read_dir(&self.root)
                    .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?;
                if let Some(entry) = entries.next() {
                    let name = entry
                        .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?
                        .file_name();
                    return Err(Error::invalid(format!(
                        "{} is not empty (it holds {name:?}) and holds no dir: image; \
                         choose an empty or new directory",
                        self.root.display()
                    )));
                }
            }
            Err(e) => return Err(Error::io(format!("creating {}", self.root.display()), e)),
        }
        write_atomically(&self.root, &version, VERSION_CONTENT)
    }

    /// The file names the image in `manifest.json` uses.
    fn files_in_use(&self) -> Result<HashSet<String>> {
        let mut used: HashSet<String> = [VERSION_FILE, MANIFEST_FILE]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut stack = vec![self.read_manifest_file(MANIFEST_FILE, None)?];
        while let Some(manifest) = stack.pop() {
            for blob in manifest.blobs() {
                used.insert(self.store.relative_path(&blob.digest));
            }
            if let crate::manifest::ManifestContent::Index(index) = manifest.content() {
                for entry in &index.manifests {
                    let file = Self::child_file(&entry.digest);
                    if used.insert(file.clone()) {
                        stack.push(self.read_manifest_file(&file, Some(&entry.digest))?);
                    }
                }
            }
        }
        Ok(used)
    }

    /// Removes every file the current image does not use: what an earlier
    /// image left, and temporary files of interrupted writes.
    fn remove_unused(&self) -> Result<()> {
        let used = self.files_in_use()?;
        let entries = fs::read_dir(&self.root)
            .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !used.contains(&name) && entry.path().is_file() {
                remove_file(&entry.path())?;
            }
        }
        Ok(())
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(Error::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

impl Transport for Dir {
    fn name(&self) -> String {
        format!("dir:{}", self.root.display())
    }

    fn default_selector(&self) -> Result<Selector> {
        let manifest = self.read_manifest_file(MANIFEST_FILE, None)?;
        Ok(Selector::Digest(manifest.digest().clone()))
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        let Selector::Digest(digest) = selector else {
            return Err(Error::invalid(format!(
                "{} holds one image and no tags; name no tag",
                self.name()
            )));
        };
        let top = self.read_manifest_file(MANIFEST_FILE, None)?;
        if top.digest() == digest {
            return Ok(top);
        }
        self.read_manifest_file(&Self::child_file(digest), Some(digest))
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.ensure_dir()?;
        write_atomically(
            &self.root,
            &self.root.join(Self::child_file(manifest.digest())),
            manifest.raw(),
        )
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        if let Some(tag) = tag {
            return Err(Error::invalid(format!(
                "{} holds one image and no tags; cannot tag it {tag:?}",
                self.name()
            )));
        }
        self.ensure_dir()?;
        write_atomically(&self.root, &self.root.join(MANIFEST_FILE), manifest.raw())
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        self.store.stat(digest)
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        verified_blob(&self.store, &self.name(), descriptor)
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.ensure_dir()?;
        self.store
            .put(&descriptor.digest, Some(descriptor.size), content)
            .map(drop)
    }

    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.ensure_dir()?;
        self.store
            .put_verified(&descriptor.digest, descriptor.size, content)
            .map(drop)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        Err(Error::unsupported(format!(
            "{} holds one image and no tags",
            self.name()
        )))
    }

    fn delete(&self, _selector: &Selector) -> Result<()> {
        Err(Error::unsupported(format!(
            "dir: images are not deleted by stevedore; remove the directory {}",
            self.root.display()
        )))
    }

    /// Removes what an earlier image in the directory left behind.
    fn finalize(&self) -> Result<()> {
        self.remove_unused()
    }

    /// Removes a directory this handle created (and the parent directories
    /// it created for it); in one that existed, the
    /// files the image in `manifest.json` does not use. (Blobs already
    /// complete are kept by a copy that is killed instead, so a re-run does
    /// not fetch them again.)
    fn abort(&self) {
        if !self.created.remove() && self.root.join(MANIFEST_FILE).exists() {
            let _ = self.remove_unused();
        }
    }
}

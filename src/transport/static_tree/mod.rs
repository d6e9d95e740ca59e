//! The `static:DIR/NAME[:TAG|@DIGEST]` transport: a static registry tree, a
//! directory that mirrors the URL space of the distribution API so that a
//! plain web server answers pulls from it (`GET /v2/<name>/manifests/<ref>`
//! is the file `DIR/v2/<name>/manifests/<ref>`). The layout is in
//! [`tree`]; `crate::static_registry` writes the web-server configuration.
//!
//! Naming: `DIR` and `NAME` are split at a `//` when there is one
//! (`static:/srv/reg//library/app:1.0`); else `DIR` is the nearest parent
//! directory holding a tree (its marker file); else `NAME` is the last
//! path component (`static:/srv/reg/app:1.0` makes `/srv/reg` a tree).
//! `NAME` follows the distribution grammar (so it cannot leave `DIR`), the
//! tag the tag grammar.
//!
//! Referrers are kept as the tag-schema fallback index (`<alg>-<hex>`),
//! which registry clients read when `/referrers/` answers 404.

pub mod tree;

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use self::tree::Tree;
use super::{ImageRef, Selector, Transport};
use crate::descriptor::Descriptor;
use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{ImageIndex, Manifest, ManifestContent};
use crate::reference::{validate_repository, validate_tag_name, DEFAULT_TAG};
use crate::registry::fallback_tag;
use crate::store::{FsStore, Store};

/// One repository of a static registry tree.
pub struct StaticTree {
    tree: Tree,
    name: String,
    store: FsStore,
    init_lock: Mutex<()>,
}

const USAGE: &str = "static: needs a directory and a repository name, as in \
                     static:/srv/registry/app:1.0 or static:/srv/registry//team/app:1.0";

/// Parses the part after `static:`: `DIR/NAME[:TAG|@DIGEST]`.
pub(super) fn parse(rest: &str) -> Result<ImageRef> {
    let last_slash = rest.rfind('/').ok_or_else(|| Error::invalid(USAGE))?;
    let tail = &rest[last_slash + 1..];
    let (location, selector) = if let Some(at) = tail.find('@') {
        let digest = tail[at + 1..].parse::<Digest>()?;
        (&rest[..last_slash + 1 + at], Some(Selector::Digest(digest)))
    } else if let Some(colon) = tail.find(':') {
        let tag = &tail[colon + 1..];
        validate_tag_name(tag)?;
        (
            &rest[..last_slash + 1 + colon],
            Some(Selector::Tag(tag.to_owned())),
        )
    } else {
        (rest, None)
    };
    let (dir, name) = split_dir_and_name(location)?;
    Ok(ImageRef::new(
        Arc::new(StaticTree::new(dir, &name)?),
        selector,
    ))
}

/// Splits `DIR/NAME` by the rules in the module documentation.
fn split_dir_and_name(location: &str) -> Result<(PathBuf, String)> {
    if let Some((dir, name)) = location.split_once("//").filter(|(d, _)| !d.is_empty()) {
        return Ok((PathBuf::from(dir), name.to_owned()));
    }
    let path = Path::new(location);
    for dir in path.ancestors().skip(1) {
        if !dir.as_os_str().is_empty() && Tree::is_tree(dir) {
            let name = path.strip_prefix(dir).map_err(|_| Error::invalid(USAGE))?;
            return Ok((dir.to_path_buf(), name.to_string_lossy().into_owned()));
        }
    }
    match location.rsplit_once('/') {
        Some((dir, name)) if !dir.is_empty() || location.starts_with('/') => {
            let dir = if dir.is_empty() { "/" } else { dir };
            Ok((PathBuf::from(dir), name.to_owned()))
        }
        _ => Err(Error::invalid(USAGE)),
    }
}

impl StaticTree {
    /// The repository `name` of the tree at `dir`; `name` must follow the
    /// distribution grammar (`team/app`).
    pub fn new(dir: impl Into<PathBuf>, name: &str) -> Result<StaticTree> {
        validate_repository(name)
            .map_err(|e| e.context(format!("the repository name {name:?} of a static tree")))?;
        let dir = dir.into();
        Ok(StaticTree {
            store: FsStore::new(&dir),
            tree: Tree::new(dir),
            name: name.to_owned(),
            init_lock: Mutex::new(()),
        })
    }

    /// The tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The repository name.
    pub fn repository(&self) -> &str {
        &self.name
    }

    /// Creates the tree on first write, one thread at a time.
    fn ensure(&self) -> Result<()> {
        let _one = self.init_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.tree.ensure()
    }

    fn not_found(&self, what: impl std::fmt::Display) -> Error {
        Error::not_found(format!("{} has no {what}", self.name()))
    }

    /// Writes the manifest's media type and its digest file (no tag, no
    /// lock: both are named by the digest).
    fn write_manifest(&self, manifest: &Manifest) -> Result<PathBuf> {
        self.ensure()?;
        self.tree.put_type(manifest)?;
        let path = self
            .tree
            .manifest_path(&self.name, &manifest.digest().to_string());
        if !path.is_file() {
            self.tree.write(&path, manifest.raw())?;
        }
        Ok(path)
    }

    /// Points `tag` at the manifest file `path` and rewrites `tags/list`
    /// (call under the lock).
    fn set_tag(&self, path: &Path, tag: &str) -> Result<()> {
        self.tree
            .link(path, &self.tree.manifest_path(&self.name, tag))?;
        self.tree.write_tags_list(&self.name)
    }

    /// Links the stored blob into this repository.
    fn link_blob(&self, digest: &Digest) -> Result<()> {
        let target = self.tree.blob_path(&self.name, digest);
        if target.is_file() {
            return Ok(());
        }
        self.tree.link(&self.store.blob_path(digest), &target)
    }
}

fn file_size(path: &Path) -> Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

impl Transport for StaticTree {
    fn name(&self) -> String {
        format!("static:{}//{}", self.tree.root().display(), self.name)
    }

    fn default_selector(&self) -> Result<Selector> {
        Ok(Selector::Tag(DEFAULT_TAG.to_owned()))
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        let (reference, expected) = match selector {
            Selector::Tag(t) => (t.clone(), None),
            Selector::Digest(d) => (d.to_string(), Some(d)),
            Selector::Index(_) => {
                return Err(Error::invalid(
                    "a static registry names images by tag or digest, not by position",
                ))
            }
        };
        let path = self.tree.manifest_path(&self.name, &reference);
        if !path.is_file() {
            return Err(self.not_found(selector));
        }
        self.tree.read_manifest(&path, expected)
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.write_manifest(manifest)?;
        self.tree.locked(|| self.tree.add_repository(&self.name))
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        if let Some(tag) = tag {
            validate_tag_name(tag)?;
        }
        let path = self.write_manifest(manifest)?;
        self.tree.locked(|| {
            self.tree.add_repository(&self.name)?;
            match tag {
                Some(tag) => self.set_tag(&path, tag),
                None => Ok(()),
            }
        })
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        file_size(&self.tree.blob_path(&self.name, digest))
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let path = self.tree.blob_path(&self.name, &descriptor.digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => self.not_found(format!("blob {}", descriptor.digest)),
            _ => Error::io(format!("opening {}", path.display()), e),
        })?;
        Ok(Box::new(VerifyingReader::new(
            file,
            descriptor.digest.clone(),
            Some(descriptor.size),
        )))
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.ensure()?;
        self.store
            .put(&descriptor.digest, Some(descriptor.size), content)?;
        self.link_blob(&descriptor.digest)
    }

    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.ensure()?;
        self.store
            .put_verified(&descriptor.digest, descriptor.size, content)?;
        self.link_blob(&descriptor.digest)
    }

    /// Links the blob from the tree's shared store when another repository
    /// (or an earlier export) stored it: nothing is read from `source`.
    fn mount_blob(&self, descriptor: &Descriptor, _source: &dyn Transport) -> Result<bool> {
        if !Tree::is_tree(self.tree.root())
            || self.store.stat(&descriptor.digest)? != Some(descriptor.size)
        {
            return Ok(false);
        }
        self.link_blob(&descriptor.digest)?;
        Ok(true)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        if !self.tree.repo_dir(&self.name).is_dir() {
            return Err(self.not_found("such repository"));
        }
        self.tree.tags(&self.name)
    }

    /// Removes a tag and rewrites `tags/list`; manifests and blobs stay
    /// (other tags and repositories may share them).
    fn delete(&self, selector: &Selector) -> Result<()> {
        let Selector::Tag(tag) = selector else {
            return Err(Error::unsupported(format!(
                "{} removes tags only; name a tag",
                self.name()
            )));
        };
        let path = self.tree.manifest_path(&self.name, tag);
        self.tree.locked(|| {
            fs::remove_file(&path).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => self.not_found(selector),
                _ => Error::io(format!("removing {}", path.display()), e),
            })?;
            self.tree.write_tags_list(&self.name)
        })
    }

    /// Read from the fallback index tagged `<alg>-<hex>`.
    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        let mut list = match self.get_manifest(&Selector::Tag(fallback_tag(subject))) {
            Ok(m) => match m.content() {
                ManifestContent::Index(i) => i.manifests.clone(),
                ManifestContent::Image(_) => Vec::new(),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        if let Some(t) = artifact_type {
            list.retain(|d| d.artifact_type.as_deref() == Some(t));
        }
        Ok(list)
    }

    /// Stores the referrer and adds it to its subject's fallback index
    /// (`<alg>-<hex>`), which is rewritten under the tree's lock.
    fn put_referrer(&self, manifest: &Manifest) -> Result<()> {
        let subject = manifest
            .subject()
            .ok_or_else(|| Error::invalid("the manifest has no subject; it refers to nothing"))?
            .digest
            .clone();
        self.write_manifest(manifest)?;
        self.tree.locked(|| {
            self.tree.add_repository(&self.name)?;
            self.add_to_fallback_index(&subject, manifest.referrer_descriptor())
        })
    }

    fn finalize(&self) -> Result<()> {
        Ok(())
    }

    /// Nothing to undo: blobs are content-addressed and whole, and no tag
    /// is written before everything it needs.
    fn abort(&self) {}
}

impl StaticTree {
    /// Adds `entry` to the fallback index of `subject` (call under the lock).
    fn add_to_fallback_index(&self, subject: &Digest, entry: Descriptor) -> Result<()> {
        let tag = fallback_tag(subject);
        let mut index = match self.get_manifest(&Selector::Tag(tag.clone())) {
            Ok(m) => match m.content() {
                ManifestContent::Index(i) => i.as_ref().clone(),
                ManifestContent::Image(_) => {
                    return Err(Error::invalid(format!(
                        "{}:{tag} is an image, not a referrers index",
                        self.name()
                    )))
                }
            },
            Err(e) if e.kind() == ErrorKind::NotFound => ImageIndex::oci(Vec::new()),
            Err(e) => return Err(e),
        };
        if index.manifests.iter().any(|d| d.digest == entry.digest) {
            return Ok(());
        }
        index.manifests.push(entry);
        let built = Manifest::build(ManifestContent::Index(Box::new(index)))?;
        let path = self.write_manifest(&built)?;
        self.set_tag(&path, &tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_double_slash_or_last_component() {
        let r = parse("/srv/reg//team/app:1.0").unwrap();
        assert_eq!(r.to_string(), "static:/srv/reg//team/app:1.0");
        let r = parse("/nowhere/reg/app@sha256:".to_owned().as_str());
        assert!(r.is_err());
        let r = parse("/nowhere/reg/app").unwrap();
        assert_eq!(r.to_string(), "static:/nowhere/reg//app");
        assert!(parse("app:1").is_err());
        assert!(parse("/srv/reg//../etc:1").is_err());
        assert!(parse("/srv/reg//App:1").is_err());
        assert!(parse("/srv/reg//app:a/b").is_err());
        assert!(parse("/srv/reg//app:-x").is_err());
    }
}

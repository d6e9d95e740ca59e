//! Applying layers in order (OCI image-spec layer.md, "Applying
//! Changesets"): whiteouts and opaque directories hide what lower layers
//! had, hard links share an earlier entry's bytes, a directory replaced by a
//! file loses its children.
//!
//! This file holds the view and how each change lands in it; reading a
//! layer's tar stream into changes is in `changeset`.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::changeset::{blame_the_blob, Reading};
use super::compression::LayerFormat;
use super::entry::{DataLocation, Entry, EntryKind};
use super::paths::{self, LookupError};
use super::read::Spool;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};

/// Where layer blobs come from: the layers of one image, base first, each
/// opened again whenever its bytes are needed.
pub trait LayerSource: Send + Sync {
    /// The layer descriptors, base first.
    fn layers(&self) -> &[Descriptor];

    /// A reader of the blob of layer `index` as stored (compressed),
    /// verified against its digest as it streams.
    fn open(&self, index: usize) -> Result<Box<dyn Read + Send>>;
}

/// Sees the bytes of each regular file while [`MergedView::build_visiting`]
/// streams its layer, so that a caller who needs a few files' bytes (an SBOM's
/// package databases) reads every layer once. Files a later layer hides are
/// visited too: the final view's [`Entry::data`] says which bytes are live.
pub trait FileVisitor {
    /// Called once per regular file of a layer, in tar order: `path` is the
    /// entry's cleaned tar path, `mode` its permission bits, `size` its length in
    /// bytes, `at` where its bytes lie (as [`Entry::data`] will say), `bytes` a
    /// stream of them, which may be read in part or not at all. An error reading
    /// `bytes` is the layer's and surfaces again from the build.
    fn visit(&mut self, path: &str, mode: u32, size: u64, at: DataLocation, bytes: &mut dyn Read);
}

/// Bounds on what a layer may make us read or hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The most bytes one layer may decompress to. Defaults to 64 GiB.
    pub max_layer_bytes: u64,
    /// The most tar entries all layers together may hold. Defaults to
    /// 10,000,000.
    pub max_entries: u64,
    /// The most symbolic links one path lookup follows (`ELOOP` past it).
    /// Defaults to 40, as Linux.
    pub max_link_depth: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_layer_bytes: 64 << 30,
            max_entries: 10_000_000,
            max_link_depth: 40,
        }
    }
}

/// One layer, as the view read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerInfo {
    /// The layer blob's digest.
    pub digest: Digest,
    /// Its media type, as the manifest says.
    pub media_type: String,
    /// Its compressed size in bytes.
    pub size: u64,
    /// How it was read (the real compression; a note when mislabelled).
    #[serde(flatten)]
    pub format: LayerFormat,
    /// How many tar entries it holds (whiteouts included).
    pub entries: u64,
    /// The size of its uncompressed tar stream in bytes.
    pub uncompressed_size: u64,
}

/// The merged root filesystem of an image: every path's metadata, in path
/// order, plus the layers it was built from.
#[derive(Debug, Clone, Default)]
pub struct MergedView {
    layers: Vec<LayerInfo>,
    entries: BTreeMap<String, Entry>,
}
impl MergedView {
    /// Reads every layer of `source` once, in order, and applies it. With
    /// `digests`, every file's SHA-256 is computed on the way (for `diff`).
    ///
    /// Errors ([`ErrorKind::InvalidInput`] naming the layer digest and the
    /// entry): a tar name that is absolute or has `..`, a hard link to a
    /// missing or later path, a truncated layer, more than
    /// [`Limits::max_layer_bytes`] or [`Limits::max_entries`]; a blob that
    /// does not match its digest is [`ErrorKind::DigestMismatch`].
    ///
    /// [`ErrorKind::InvalidInput`]: crate::error::ErrorKind::InvalidInput
    /// [`ErrorKind::DigestMismatch`]: crate::error::ErrorKind::DigestMismatch
    pub fn build(source: &dyn LayerSource, limits: &Limits, digests: bool) -> Result<MergedView> {
        MergedView::build_visiting(source, limits, digests, None)
    }

    /// [`build`](MergedView::build), handing every regular file's bytes to
    /// `visitor` on the way (see [`FileVisitor`]). Errors as `build`.
    pub fn build_visiting(
        source: &dyn LayerSource,
        limits: &Limits,
        digests: bool,
        visitor: Option<&mut dyn FileVisitor>,
    ) -> Result<MergedView> {
        Ok(MergedView::build_spooling(source, limits, digests, visitor, false)?.0)
    }

    /// [`build_visiting`](MergedView::build_visiting), keeping with `spool`
    /// each layer's uncompressed tar stream in a [`Spool`] (an unnamed
    /// temporary file) as it is read, so that a caller about to read most
    /// files' bytes (an export) decompresses each layer once: the view and
    /// the spools, base first (none without `spool`). Errors as `build`, and
    /// an I/O error when a spool cannot be written.
    pub fn build_spooling(
        source: &dyn LayerSource,
        limits: &Limits,
        digests: bool,
        mut visitor: Option<&mut dyn FileVisitor>,
        spool: bool,
    ) -> Result<(MergedView, Vec<Spool>)> {
        let mut spools = Vec::new();
        let mut view = MergedView::default();
        let mut total_entries = 0u64;
        for (index, descriptor) in source.layers().iter().enumerate() {
            let blob = source.open(index)?;
            let read = Reading {
                index,
                descriptor,
                limits,
                digests,
                spool,
            };
            let (info, spooled) = view
                .apply_layer(&read, blob, visitor.as_deref_mut(), &mut total_entries)
                .map_err(|e| blame_the_blob(source, index, e))?;
            view.layers.push(info);
            spools.extend(spooled);
        }
        Ok((view, spools))
    }

    /// The layers, base first.
    pub fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    /// Every entry, in path order (a directory before its contents).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Every entry, in path order, moving them out of the view (no copy:
    /// the view's own memory is released as the entries leave it).
    pub fn into_entries(self) -> Vec<Entry> {
        let mut entries = Vec::with_capacity(self.entries.len());
        entries.extend(self.entries.into_values());
        entries
    }

    /// How many entries the root holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the root is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry at exactly `path` (relative, clean; no link followed).
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// The entries directly inside the directory `dir` (`""` for the root),
    /// in path order.
    pub fn children<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a Entry> + 'a {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let start = prefix.clone();
        let skip = prefix.len();
        self.entries
            .range(start..)
            .take_while(move |(p, _)| p.starts_with(&prefix))
            .filter_map(move |(p, e)| (!p[skip..].contains('/')).then_some(e))
    }

    /// Resolves `path` inside the root (see [`LookupError`]): symlinks in
    /// every component are followed, the last one only when `follow_last`;
    /// `..` stops at the root and absolute targets start from it. Returns
    /// the resolved path (`""` is the root).
    pub fn resolve(
        &self,
        path: &str,
        follow_last: bool,
        max_links: u32,
    ) -> std::result::Result<String, LookupError> {
        paths::resolve(&self.entries, path, follow_last, max_links)
    }
    /// Hides what layers below `layer` have inside `dir` (the directory
    /// stays).
    pub(super) fn opaque(&mut self, dir: &str, layer: usize) {
        if let Ok(resolved) = self.resolve(dir, true, 40) {
            self.remove_children(&resolved, layer);
        }
    }

    /// Hides `path` (and, for a directory, all inside it) as layers below
    /// `layer` put it.
    pub(super) fn whiteout(&mut self, path: &str, layer: usize) {
        let (parent, name) = paths::split(path);
        if let Ok(parent) = self.resolve(parent, true, 40) {
            let target = paths::join(&parent, name);
            self.remove_children(&target, layer);
            if self.entries.get(&target).is_some_and(|e| e.layer < layer) {
                self.entries.remove(&target);
            }
        }
    }

    /// Removes what layers below `layer` put inside `dir` (`usize::MAX`:
    /// everything inside it).
    fn remove_children(&mut self, dir: &str, layer: usize) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(_, e)| e.layer < layer)
            .map(|(p, _)| p.clone())
            .collect();
        for p in doomed {
            self.entries.remove(&p);
        }
    }

    pub(super) fn put(
        &mut self,
        mut entry: Entry,
        layer: usize,
        digest: &Digest,
        limits: &Limits,
    ) -> Result<()> {
        let (parent, name) = paths::split(&entry.path);
        let parent = self.ensure_dir(parent, layer, limits)?;
        let path = paths::join(&parent, name);
        if entry.kind == EntryKind::Hardlink {
            let target = entry.link_target.clone().unwrap_or_default();
            let shared = self
                .entries
                .get(&target)
                .filter(|t| t.kind.has_data())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "layer {digest}: hard link {path} points to {target}, which is not a \
                         file of this or an earlier layer (missing, later, or not a file)"
                    ))
                })?;
            entry.mode = shared.mode;
            entry.size = shared.size;
            entry.data = shared.data;
            entry.digest = shared.digest.clone();
        }
        match self.entries.get(&path).map(|e| e.kind) {
            Some(EntryKind::Dir) if entry.kind == EntryKind::Dir => {}
            Some(EntryKind::Dir) => self.remove_children(&path, usize::MAX),
            _ => {}
        }
        entry.path = path.clone();
        self.entries.insert(path, entry);
        Ok(())
    }

    /// Makes sure `dir` is a directory, following symlinks inside the root
    /// and creating missing directories; returns its resolved path.
    fn ensure_dir(&mut self, dir: &str, layer: usize, limits: &Limits) -> Result<String> {
        if dir.is_empty() || self.entries.get(dir).map(|e| e.kind) == Some(EntryKind::Dir) {
            return Ok(dir.to_owned());
        }
        let mut current = String::new();
        for component in dir.split('/') {
            let candidate = paths::join(&current, component);
            current = match self.entries.get(&candidate).map(|e| e.kind) {
                Some(EntryKind::Dir) => candidate,
                Some(EntryKind::Symlink) => {
                    match self.resolve(&candidate, true, limits.max_link_depth) {
                        Ok(resolved)
                            if resolved.is_empty()
                                || self.entries.get(&resolved).map(|e| e.kind)
                                    == Some(EntryKind::Dir) =>
                        {
                            resolved
                        }
                        _ => self.replace_with_dir(candidate, layer),
                    }
                }
                _ => self.replace_with_dir(candidate, layer),
            };
        }
        Ok(current)
    }

    fn replace_with_dir(&mut self, path: String, layer: usize) -> String {
        self.entries
            .insert(path.clone(), Entry::implicit_dir(path.clone(), layer));
        path
    }
}

//! Applying layers in order (OCI image-spec layer.md, "Applying
//! Changesets"): whiteouts and opaque directories hide what lower layers
//! had, hard links share an earlier entry's bytes, a directory replaced by a
//! file loses its children.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::compression::{decompress, LayerFormat};
use super::entry::{DataLocation, Entry, EntryKind};
use super::paths::{self, BadPath, LookupError};
use super::read::Spool;
use crate::descriptor::Descriptor;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{from_io, Error, ErrorKind, Result};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

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

/// What one tar entry asks of the view.
enum Change {
    Opaque(String),
    Whiteout(String),
    Put(Entry),
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

    fn apply_layer(
        &mut self,
        read_as: &Reading<'_>,
        blob: Box<dyn Read + Send>,
        mut visitor: Option<&mut (dyn FileVisitor + '_)>,
        total_entries: &mut u64,
    ) -> Result<(LayerInfo, Option<Spool>)> {
        let Reading {
            index,
            descriptor,
            limits,
            ..
        } = *read_as;
        let digest = &descriptor.digest;
        let (stream, format) =
            decompress(blob, &descriptor.media_type, digest, limits.max_layer_bytes)?;
        let (stream, filler) = if read_as.spool {
            let (stream, filler) = Spool::filling(stream)?;
            (stream, Some(filler))
        } else {
            (stream, None)
        };
        let ended = Arc::new(AtomicBool::new(false));
        let read = Arc::new(AtomicU64::new(0));
        let mut archive = tar::Archive::new(Counted {
            inner: stream,
            read: Arc::clone(&read),
            ended: Arc::clone(&ended),
        });
        let fail =
            |what: &str, e: io::Error| tar_error(digest, what, e, ended.load(Ordering::Relaxed));
        let mut entries = 0u64;
        let mut data_end = 0u64;
        for item in archive
            .entries()
            .map_err(|e| fail("reading the tar stream", e))?
        {
            let mut item = match item {
                Ok(item) => item,
                // The stream ended after the last entry's bytes, without
                // padding or the end-of-archive blocks (umoci 0.4's insert
                // writes such layers; Go's reader accepts them): the end.
                Err(_)
                    if ended.load(Ordering::Relaxed)
                        && read.load(Ordering::Relaxed) >= data_end =>
                {
                    break
                }
                Err(e) => return Err(fail("reading a tar header", e)),
            };
            entries += 1;
            *total_entries += 1;
            if *total_entries > limits.max_entries {
                return Err(Error::invalid(format!(
                    "layer {digest}: more than {} tar entries in the image (the max_entries \
                     limit); raise it if the image is genuine",
                    limits.max_entries
                )));
            }
            let raw_path = item.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw_path).into_owned();
            let size = item.size();
            let offset = item.raw_file_position();
            data_end = data_end.max(offset + size);
            let visit = visitor.as_deref_mut();
            // Applied as they stream (nothing of a layer is held): a
            // whiteout hides only what lower layers put there (OCI image
            // spec, layer.md "Whiteouts"), whatever its place in the tar.
            match read_change(&mut item, read_as, visit, &shown)? {
                Some(Change::Opaque(dir)) => self.opaque(&dir, index),
                Some(Change::Whiteout(path)) => self.whiteout(&path, index),
                Some(Change::Put(entry)) => self.put(entry, index, digest, limits)?,
                None => {}
            }
        }
        let mut counted = archive.into_inner();
        if read.load(Ordering::Relaxed) < data_end {
            return Err(Error::invalid(format!(
                "layer {digest} is truncated: its tar stream ends at byte {} inside the data of \
                 an entry that ends at byte {data_end}",
                read.load(Ordering::Relaxed)
            )));
        }
        // Read to the end, so that the blob's digest and the compressed
        // stream's own checks are verified.
        io::copy(&mut counted, &mut io::sink()).map_err(|e| fail("reading the layer's end", e))?;
        let uncompressed_size = read.load(Ordering::Relaxed);
        let spool = filler
            .map(|filler| filler.finish(uncompressed_size))
            .transpose()?;
        let info = LayerInfo {
            digest: digest.clone(),
            media_type: descriptor.media_type.clone(),
            size: descriptor.size,
            format,
            entries,
            uncompressed_size,
        };
        Ok((info, spool))
    }

    /// Hides what layers below `layer` have inside `dir` (the directory
    /// stays).
    fn opaque(&mut self, dir: &str, layer: usize) {
        if let Ok(resolved) = self.resolve(dir, true, 40) {
            self.remove_children(&resolved, layer);
        }
    }

    /// Hides `path` (and, for a directory, all inside it) as layers below
    /// `layer` put it.
    fn whiteout(&mut self, path: &str, layer: usize) {
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

    fn put(
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

/// One layer being applied: its index, descriptor and how to read it.
#[derive(Clone, Copy)]
struct Reading<'a> {
    index: usize,
    descriptor: &'a Descriptor,
    limits: &'a Limits,
    digests: bool,
    /// Whether to keep the layer's uncompressed stream in a [`Spool`].
    spool: bool,
}

/// Turns one tar entry into what it asks of the view (`None` for the root
/// directory and for headers that carry no path of their own), showing a
/// regular file's bytes to `visitor` on the way.
fn read_change(
    item: &mut tar::Entry<'_, Counted>,
    reading: &Reading<'_>,
    visitor: Option<&mut (dyn FileVisitor + '_)>,
    shown: &str,
) -> Result<Option<Change>> {
    let (layer, digests, digest) = (reading.index, reading.digests, &reading.descriptor.digest);
    let bad = |why: &str| Error::invalid(format!("layer {digest}: entry {shown:?} {why}"));
    let header = item.header();
    let kind = match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => EntryKind::Symlink,
        tar::EntryType::Link => EntryKind::Hardlink,
        tar::EntryType::Char => EntryKind::CharDevice,
        tar::EntryType::Block => EntryKind::BlockDevice,
        tar::EntryType::Fifo => EntryKind::Fifo,
        tar::EntryType::XGlobalHeader => return Ok(None),
        other => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                "layer {digest}: entry {shown:?} has tar type {other:?}, which layers do not use"
            ),
            ))
        }
    };
    let path = match paths::clean(&item.path_bytes()) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        Err(BadPath::Absolute) => return Err(bad("is an absolute path")),
        Err(BadPath::DotDot) => return Err(bad("has a `..` component, leaving the root")),
        Err(BadPath::NotUtf8) => return Err(bad("is not UTF-8")),
    };
    let (parent, name) = paths::split(&path);
    if name == OPAQUE {
        return Ok(Some(Change::Opaque(parent.to_owned())));
    }
    if let Some(hidden) = name.strip_prefix(WHITEOUT) {
        return Ok(Some(Change::Whiteout(paths::join(parent, hidden))));
    }
    let header = item.header();
    let field = |r: io::Result<u64>| r.map_err(|e| bad(&format!("has a bad header: {e}")));
    let mode = field(header.mode().map(u64::from))? as u32 & 0o7777;
    // Some writers leave these blank; blank reads as 0, as GNU tar reads it.
    let (uid, gid, mtime) = (
        header.uid().unwrap_or(0),
        header.gid().unwrap_or(0),
        header.mtime().unwrap_or(0),
    );
    let device = match kind {
        EntryKind::CharDevice | EntryKind::BlockDevice => Some((
            header.device_major().ok().flatten().unwrap_or(0),
            header.device_minor().ok().flatten().unwrap_or(0),
        )),
        _ => None,
    };
    let link_target = match kind {
        EntryKind::Symlink | EntryKind::Hardlink => {
            let raw = item
                .link_name_bytes()
                .ok_or_else(|| bad("is a link without a target"))?
                .into_owned();
            if kind == EntryKind::Symlink {
                Some(
                    String::from_utf8(raw)
                        .map_err(|_| bad("has a link target that is not UTF-8"))?,
                )
            } else {
                match paths::clean(&raw) {
                    Ok(Some(t)) => Some(t),
                    _ => return Err(bad("is a hard link to a path outside the root")),
                }
            }
        }
        _ => None,
    };
    let mut xattrs = BTreeMap::new();
    if let Some(pax) = item
        .pax_extensions()
        .map_err(|e| bad(&format!("has bad PAX records: {e}")))?
    {
        for record in pax.flatten() {
            if let Ok(key) = record.key() {
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.insert(name.to_owned(), record.value_bytes().to_vec());
                }
            }
        }
    }
    let size = if kind == EntryKind::File {
        item.size()
    } else {
        0
    };
    let data = (kind == EntryKind::File).then(|| DataLocation {
        layer,
        offset: item.raw_file_position(),
    });
    let mut hasher = (digests && kind == EntryKind::File).then(|| Hasher::new(Algorithm::Sha256));
    if let (Some(visitor), Some(at)) = (visitor, data) {
        let mut tee = Tee {
            inner: &mut *item,
            hasher: hasher.as_mut(),
        };
        visitor.visit(&path, mode, size, at, &mut tee);
    }
    let content_digest = match hasher {
        Some(hasher) => {
            let mut rest = HashWriter(hasher);
            io::copy(item, &mut rest)
                .map_err(|e| tar_error(digest, &format!("reading entry {shown:?}"), e, false))?;
            Some(rest.0.finish())
        }
        None => None,
    };
    Ok(Some(Change::Put(Entry {
        path,
        kind,
        mode,
        uid,
        gid,
        size,
        mtime,
        link_target,
        device,
        xattrs,
        layer,
        data,
        digest: content_digest,
    })))
}

/// The error to report for a layer that failed to read: when its blob no
/// longer matches its digest (a corrupted layer usually fails to decompress
/// before its digest is checked), that [`ErrorKind::DigestMismatch`], naming
/// the layer digest; otherwise `err` itself.
fn blame_the_blob(source: &dyn LayerSource, index: usize, err: Error) -> Error {
    if err.kind() == ErrorKind::DigestMismatch {
        return err;
    }
    let checked = source
        .open(index)
        .and_then(|mut blob| io::copy(&mut blob, &mut io::sink()).map_err(|e| from_io("", e)));
    match checked {
        Err(mismatch) if mismatch.kind() == ErrorKind::DigestMismatch => {
            let digest = &source.layers()[index].digest;
            mismatch.context(format!("layer {digest} is corrupted ({err})"))
        }
        _ => err,
    }
}

/// A tar reading error: a truncated stream is invalid input, naming the
/// layer; an error of ours (a limit) passes through.
fn tar_error(digest: &Digest, what: &str, err: io::Error, ended: bool) -> Error {
    if ended || err.kind() == io::ErrorKind::UnexpectedEof {
        return Error::invalid(format!("layer {digest} is truncated: {what}: {err}"));
    }
    from_io(format!("layer {digest}: {what}"), err)
}

struct HashWriter(Hasher);

impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hands what is read through it to a hasher too (so that a visitor's partial
/// read and the rest drained after it digest the whole entry).
struct Tee<'a, R> {
    inner: &'a mut R,
    hasher: Option<&'a mut Hasher>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Counts the bytes of the uncompressed stream the tar reader consumed.
struct Counted {
    inner: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
    ended: Arc<AtomicBool>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended.store(true, Ordering::Relaxed);
        }
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

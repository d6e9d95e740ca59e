//! One layer's changeset (OCI image-spec layer.md, "Change Types"): its
//! tar stream decompressed, counted and checked entry by entry, each entry
//! turned into what it asks of the merged view (an opaque directory, a
//! whiteout, or an entry to put), with file digests and visitors on the way.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::compression::decompress;
use super::entry::{DataLocation, Entry, EntryKind};
use super::merge::{FileVisitor, LayerInfo, LayerSource, Limits, MergedView};
use super::paths::{self, BadPath};
use super::read::Spool;
use crate::descriptor::Descriptor;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{from_io, Error, ErrorKind, Result};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
/// What one tar entry asks of the view.
enum Change {
    Opaque(String),
    Whiteout(String),
    Put(Entry),
}
impl MergedView {
    pub(super) fn apply_layer(
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
}

/// One layer being applied: its index, descriptor and how to read it.
#[derive(Clone, Copy)]
pub(super) struct Reading<'a> {
    pub(super) index: usize,
    pub(super) descriptor: &'a Descriptor,
    pub(super) limits: &'a Limits,
    pub(super) digests: bool,
    /// Whether to keep the layer's uncompressed stream in a [`Spool`].
    pub(super) spool: bool,
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
pub(super) fn blame_the_blob(source: &dyn LayerSource, index: usize, err: Error) -> Error {
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

//! The bytes an SBOM needs, kept while the merged view is built, so that every
//! layer is decompressed once per [`sbom`](super::sbom): [`Capture`] sees each
//! regular file as its layer streams and keeps the candidates' bytes (package
//! databases, package metadata, `os-release`, each up to
//! [`CatalogOptions::max_database_bytes`]), the first bytes of executables, and
//! ELF executables whole in one unnamed temporary file (not in memory), where
//! their headers and sections are read in place. [`CapturedFs`] is the
//! [`RootFs`] that answers reads from them, falling back to the image's layers
//! for anything not kept.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::FileExt;

use super::catalog::CatalogOptions;
use super::rootfs::{Entry, RootFs};
use super::{apk, dpkg, npm, python, rpm};
use crate::error::{Error, Result};
use crate::files::ImageFs;
use crate::layer::{DataLocation, FileVisitor};

/// The length of an executable's head kept in memory: enough for the magic
/// number the catalog checks first.
const HEAD_BYTES: usize = 64;

/// What was kept of one file's bytes.
enum Kept {
    /// The whole file.
    Whole(Vec<u8>),
    /// Its first bytes only.
    Head(Vec<u8>),
    /// The whole file, at `offset` in the spill file.
    Spilled { offset: u64, len: u64 },
}

/// A [`FileVisitor`] keeping the bytes the catalogers will ask for.
pub(super) struct Capture<'a> {
    options: &'a CatalogOptions,
    kept: HashMap<DataLocation, Kept>,
    spill: Option<(File, u64)>,
}

impl<'a> Capture<'a> {
    /// A capture bounded by `options`' size limits.
    pub fn new(options: &'a CatalogOptions) -> Capture<'a> {
        Capture {
            options,
            kept: HashMap::new(),
            spill: None,
        }
    }

    /// The root filesystem of `fs` with the kept bytes in front of it.
    pub fn into_fs(self, fs: ImageFs) -> CapturedFs {
        CapturedFs {
            fs,
            kept: self.kept,
            spill: self.spill.map(|(file, _)| file),
        }
    }

    /// Appends an ELF executable (its `head` already read) to the spill file.
    fn spill(&mut self, head: &[u8], rest: &mut dyn Read) -> io::Result<Kept> {
        if self.spill.is_none() {
            self.spill = Some((tempfile::tempfile()?, 0));
        }
        let Some((file, end)) = self.spill.as_mut() else {
            return Err(io::ErrorKind::Other.into());
        };
        let offset = *end;
        file.seek(io::SeekFrom::Start(offset))?;
        file.write_all(head)?;
        let len = head.len() as u64 + io::copy(rest, file)?;
        *end += len;
        Ok(Kept::Spilled { offset, len })
    }
}

/// Whether the catalog reads the file at `path` whole.
fn is_candidate(path: &str) -> bool {
    path.ends_with("os-release")
        || dpkg::is_database(path)
        || apk::is_database(path)
        || rpm::is_database(path)
        || python::is_metadata(path)
        || npm::is_manifest(path)
}

impl FileVisitor for Capture<'_> {
    fn visit(&mut self, path: &str, mode: u32, size: u64, at: DataLocation, bytes: &mut dyn Read) {
        let kept = if is_candidate(path) {
            if size > self.options.max_database_bytes {
                return;
            }
            let mut whole = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            bytes.read_to_end(&mut whole).map(|_| Kept::Whole(whole))
        } else if mode & 0o111 != 0 && size >= HEAD_BYTES as u64 {
            let mut head = vec![0; HEAD_BYTES];
            match bytes.read_exact(&mut head) {
                Ok(()) if head.starts_with(b"\x7fELF") && size <= self.options.max_binary_bytes => {
                    self.spill(&head, bytes)
                }
                Ok(()) => Ok(Kept::Head(head)),
                Err(e) => Err(e),
            }
        } else {
            return;
        };
        // A read that failed leaves nothing kept: the layer's error surfaces
        // from the build, or the catalog reads the file from the layer.
        if let Ok(kept) = kept {
            self.kept.insert(at, kept);
        }
    }
}

/// An image's merged root with the bytes [`Capture`] kept: reads of kept files
/// are answered from memory or the spill file, others from the layers.
pub(super) struct CapturedFs {
    fs: ImageFs,
    kept: HashMap<DataLocation, Kept>,
    spill: Option<File>,
}

impl CapturedFs {
    /// The image's merged root.
    pub fn image(&self) -> &ImageFs {
        &self.fs
    }

    /// Up to `len` bytes from `offset` of the file `path`, when they were kept.
    fn kept(&self, path: &str, offset: u64, len: u64) -> Result<Option<Vec<u8>>> {
        let Some(at) = self.fs.lookup(path, true)?.and_then(|e| e.data) else {
            return Ok(None);
        };
        let slice = |bytes: &[u8]| {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let end = start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
            bytes[start..end.min(bytes.len())].to_vec()
        };
        Ok(match self.kept.get(&at) {
            Some(Kept::Whole(bytes)) => Some(slice(bytes)),
            Some(Kept::Head(head)) if offset.saturating_add(len) <= head.len() as u64 => {
                Some(slice(head))
            }
            Some(Kept::Spilled {
                offset: base,
                len: size,
            }) => {
                let Some(file) = &self.spill else {
                    return Ok(None);
                };
                let start = offset.min(*size);
                let mut bytes = vec![0; usize::try_from(len.min(size - start)).unwrap_or(0)];
                file.read_exact_at(&mut bytes, base + start).map_err(|e| {
                    Error::io(format!("reading /{path} from the SBOM's spill file"), e)
                })?;
                Some(bytes)
            }
            _ => None,
        })
    }
}

impl RootFs for CapturedFs {
    fn entries(&self) -> Result<Vec<Entry>> {
        RootFs::entries(&self.fs)
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>> {
        match self.kept(path, 0, max_bytes)? {
            Some(bytes) => Ok(bytes),
            None => RootFs::read(&self.fs, path, max_bytes),
        }
    }

    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        match self.kept(path, offset, len)? {
            Some(bytes) => Ok(bytes),
            None => RootFs::read_range(&self.fs, path, offset, len),
        }
    }
}

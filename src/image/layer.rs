//! Making layers: reproducibly from directories and file mappings, or from
//! tar files kept byte for byte.
//!
//! A layer made here is the same bytes on any machine for the same content:
//! entries sorted by path, every mtime set to `SOURCE_DATE_EPOCH` (or 0),
//! owner 0:0 with no user or group names, no atime or ctime, ustar headers
//! with a PAX record only for a path or link target too long for ustar,
//! then gzip (no mtime, no file name, a fixed level) or zstd at a chosen
//! level. Only files, directories and symbolic links go in: a socket, FIFO
//! or device file is an error naming it (never skipped silently).

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use super::blob::Blob;
use super::model::Layer;
use crate::archive::HashingWriter;
use crate::descriptor::Descriptor;
use crate::digest::{Algorithm, Hasher};
use crate::error::{Error, Result};
use crate::media_types;

/// How a layer made from files is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// gzip (RFC 1952), fixed header, at this level (0-9; 6 is the default).
    Gzip(u32),
    /// zstd at this level (1-22; 3 is the default).
    Zstd(i32),
    /// An uncompressed tar.
    None,
}

impl Default for Compression {
    fn default() -> Compression {
        Compression::Gzip(6)
    }
}

impl Compression {
    /// `gzip`, `zstd` or `none`, at `level` when given (else the default
    /// level). [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// for another name or a level out of range.
    pub fn parse(name: &str, level: Option<i32>) -> Result<Compression> {
        match (name, level) {
            ("gzip", None) => Ok(Compression::Gzip(6)),
            ("gzip", Some(l @ 0..=9)) => Ok(Compression::Gzip(l as u32)),
            ("zstd", None) => Ok(Compression::Zstd(3)),
            ("zstd", Some(l @ 1..=22)) => Ok(Compression::Zstd(l)),
            ("none", None) => Ok(Compression::None),
            ("gzip" | "zstd" | "none", Some(l)) => Err(Error::invalid(format!(
                "compression level {l} is out of range for {name} (gzip: 0-9, zstd: 1-22, none: no level)"
            ))),
            _ => Err(Error::invalid(format!(
                "unknown compression {name:?}: use gzip, zstd or none"
            ))),
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip(_) => media_types::OCI_LAYER_GZIP,
            Compression::Zstd(_) => media_types::OCI_LAYER_ZSTD,
            Compression::None => media_types::OCI_LAYER,
        }
    }
}

/// The modification time every entry gets: `SOURCE_DATE_EPOCH` when set (in
/// seconds since 1970), else 0.
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when it is
/// set but not a number.
pub fn source_date_epoch() -> Result<u64> {
    Ok(source_date_epoch_if_set()?.unwrap_or(0))
}

/// `SOURCE_DATE_EPOCH` (seconds since 1970) when it is set.
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when it is
/// set but not a number.
pub fn source_date_epoch_if_set() -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse().map(Some).map_err(|_| {
            Error::invalid(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970"
            ))
        }),
        Err(_) => Ok(None),
    }
}

/// A file (or directory) put into a layer at `dest`: `SRC:DEST[:MODE]`, the
/// mode in octal; a directory brings its whole tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMapping {
    /// The file or directory on disk (symbolic links followed).
    pub src: PathBuf,
    /// Where it goes in the layer, such as `/usr/bin/app`.
    pub dest: String,
    /// The permission bits a file gets (directories keep theirs); its own
    /// when `None`.
    pub mode: Option<u32>,
}

impl FromStr for FileMapping {
    type Err = Error;

    fn from_str(s: &str) -> Result<FileMapping> {
        let parts: Vec<&str> = s.split(':').collect();
        let (src, dest, mode) = match parts.as_slice() {
            [src, dest] => (*src, *dest, None),
            [src, dest, mode] => (*src, *dest, Some(*mode)),
            _ => {
                return Err(Error::invalid(format!(
                    "file mapping {s:?} is not SRC:DEST[:MODE] (such as ./app:/usr/bin/app:0755)"
                )))
            }
        };
        let mode = mode
            .map(|m| {
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "file mapping {s:?}: mode {m:?} is not octal permission bits such as 0755"
                        ))
                    })
            })
            .transpose()?;
        if src.is_empty() || dest.is_empty() {
            return Err(Error::invalid(format!(
                "file mapping {s:?} needs both SRC and DEST"
            )));
        }
        Ok(FileMapping {
            src: PathBuf::from(src),
            dest: dest.to_owned(),
            mode,
        })
    }
}

/// What an entry of a layer made from files is.
enum Kind {
    Dir,
    File(PathBuf, u64),
    Symlink(String),
}

struct Entry {
    path: String,
    mode: u32,
    kind: Kind,
}

fn io_error(path: &Path, e: io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        return Error::invalid(format!(
            "{} is a symbolic link loop: it never resolves to a file",
            path.display()
        ));
    }
    Error::io(format!("reading {}", path.display()), e)
}

/// A layer of the tree under `dir` (symbolic links in it kept as links).
pub fn from_dir(dir: &Path, compression: Compression) -> Result<Layer> {
    let meta = fs::metadata(dir).map_err(|e| io_error(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut entries = Vec::new();
    walk(dir, "", &mut entries)?;
    write_layer(entries, compression)
}

/// A layer holding the files `mappings` name, their parent directories
/// created (mode 0755).
pub fn from_files(mappings: &[FileMapping], compression: Compression) -> Result<Layer> {
    let mut entries: Vec<Entry> = Vec::new();
    for m in mappings {
        let dest = clean_dest(&m.dest)?;
        let meta = fs::metadata(&m.src).map_err(|e| io_error(&m.src, e))?;
        let mut parent = String::new();
        for component in dest.split('/').take(dest.split('/').count() - 1) {
            parent = join(&parent, component);
            entries.push(Entry {
                path: parent.clone(),
                mode: 0o755,
                kind: Kind::Dir,
            });
        }
        if meta.is_dir() {
            entries.push(Entry {
                path: dest.clone(),
                mode: mode_of(&meta),
                kind: Kind::Dir,
            });
            walk(&m.src, &dest, &mut entries)?;
        } else if meta.is_file() {
            entries.push(Entry {
                path: dest,
                mode: m.mode.unwrap_or_else(|| mode_of(&meta)),
                kind: Kind::File(m.src.clone(), meta.len()),
            });
        } else {
            return Err(special(&m.src, &meta));
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
        .dedup_by(|a, b| a.path == b.path && matches!((&a.kind, &b.kind), (Kind::Dir, Kind::Dir)));
    if let Some(w) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(Error::invalid(format!(
            "two file mappings put something at /{}",
            w[0].path
        )));
    }
    write_layer(entries, compression)
}

fn clean_dest(dest: &str) -> Result<String> {
    let trimmed = dest.trim_matches('/');
    if trimmed.is_empty()
        || trimmed
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(Error::invalid(format!(
            "destination {dest:?} must name a path inside the image, without . or .. components"
        )));
    }
    Ok(trimmed.to_owned())
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

fn special(path: &Path, meta: &fs::Metadata) -> Error {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_socket() {
        "a socket"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else {
        "not a file, directory or symbolic link"
    };
    Error::invalid(format!(
        "{} is {what}: a layer holds only files, directories and symbolic links (it is an error, \
         not skipped); remove it or map the files you want with SRC:DEST",
        path.display()
    ))
}

/// Adds the tree under `dir` to `entries`, at `prefix` in the layer.
fn walk(dir: &Path, prefix: &str, entries: &mut Vec<Entry>) -> Result<()> {
    let listing = fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    for item in listing {
        let item = item.map_err(|e| io_error(dir, e))?;
        let path = item.path();
        let name = item.file_name();
        let name = name.to_str().ok_or_else(|| {
            Error::invalid(format!(
                "{} is not a UTF-8 file name; layers built here hold UTF-8 names only",
                path.display()
            ))
        })?;
        let at = join(prefix, name);
        let meta = fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
        let t = meta.file_type();
        if t.is_dir() {
            entries.push(Entry {
                path: at.clone(),
                mode: mode_of(&meta),
                kind: Kind::Dir,
            });
            walk(&path, &at, entries)?;
        } else if t.is_file() {
            entries.push(Entry {
                path: at,
                mode: mode_of(&meta),
                kind: Kind::File(path, meta.len()),
            });
        } else if t.is_symlink() {
            let target = fs::read_link(&path).map_err(|e| io_error(&path, e))?;
            let target = target.to_str().ok_or_else(|| {
                Error::invalid(format!("{}: link target is not UTF-8", path.display()))
            })?;
            entries.push(Entry {
                path: at,
                mode: 0o777,
                kind: Kind::Symlink(target.to_owned()),
            });
        } else {
            return Err(special(&path, &meta));
        }
    }
    if prefix.is_empty() {
        entries.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(())
}

/// A compressor whose output is hashed and counted.
enum Compressor<W: Write> {
    Gzip(GzEncoder<HashingWriter<W>>),
    Zstd(zstd::Encoder<'static, HashingWriter<W>>),
    Plain(HashingWriter<W>),
}

impl<W: Write> Compressor<W> {
    fn new(compression: Compression, out: W) -> Result<Compressor<W>> {
        let out = HashingWriter::new(out);
        Ok(match compression {
            Compression::Gzip(level) => Compressor::Gzip(
                flate2::GzBuilder::new().write(out, flate2::Compression::new(level)),
            ),
            Compression::Zstd(level) => Compressor::Zstd(
                zstd::Encoder::new(out, level)
                    .map_err(|e| Error::io("starting zstd compression", e))?,
            ),
            Compression::None => Compressor::Plain(out),
        })
    }

    fn finish(self) -> io::Result<HashingWriter<W>> {
        match self {
            Compressor::Gzip(w) => w.finish(),
            Compressor::Zstd(w) => w.finish(),
            Compressor::Plain(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Gzip(w) => w.write(buf),
            Compressor::Zstd(w) => w.write(buf),
            Compressor::Plain(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Gzip(w) => w.flush(),
            Compressor::Zstd(w) => w.flush(),
            Compressor::Plain(w) => w.flush(),
        }
    }
}

/// A layer of the uncompressed tar stream `write` produces (into the writer
/// it is given), compressed with `compression` (gzip with a fixed header)
/// into a temporary file that lives as long as the layer. Its reproducibility
/// is `write`'s: the same tar bytes give the same digests.
///
/// Errors: `write`'s; [`ErrorKind::Io`](crate::ErrorKind::Io) when the
/// temporary file cannot be made or written.
pub fn from_tar_writer(
    compression: Compression,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<Layer> {
    let fail = |e: io::Error| Error::io("writing a layer to a temporary file", e);
    let temp = tempfile::Builder::new()
        .prefix("stevedore-layer-")
        .tempfile()
        .map_err(fail)?;
    let (file, path) = temp.into_parts();
    let mut tar = HashingWriter::new(Compressor::new(
        compression,
        io::BufWriter::with_capacity(1 << 20, file),
    )?);
    write(&mut tar)?;
    let (compressor, diff_id, _) = tar.finish();
    let (out, digest, size) = compressor.finish().map_err(fail)?.finish();
    out.into_inner().map_err(|e| fail(e.into_error()))?;
    Ok(Layer {
        descriptor: Descriptor::new(compression.media_type(), digest, size),
        diff_id,
        blob: Blob::Temp(Arc::new(path)),
    })
}

/// The longest prefix of `s` of at most `max` bytes, on a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn write_layer(entries: Vec<Entry>, compression: Compression) -> Result<Layer> {
    let epoch = source_date_epoch()?;
    let fail = |e: io::Error| Error::io("writing a layer", e);
    let mut tar = tar::Builder::new(HashingWriter::new(Compressor::new(
        compression,
        Vec::new(),
    )?));
    for entry in &entries {
        let mut header = tar::Header::new_ustar();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(epoch);
        header.set_mode(entry.mode);
        let mut pax: Vec<(&str, &[u8])> = Vec::new();
        let name = match entry.kind {
            Kind::Dir => format!("{}/", entry.path),
            _ => entry.path.clone(),
        };
        if header.set_path(&name).is_err() {
            pax.push(("path", name.as_bytes()));
            header.set_path(truncated(&name, 99)).map_err(fail)?;
        }
        let (kind, size) = match &entry.kind {
            Kind::Dir => (tar::EntryType::Directory, 0),
            Kind::File(_, size) => (tar::EntryType::Regular, *size),
            Kind::Symlink(target) => {
                if header.set_link_name(target).is_err() {
                    pax.push(("linkpath", target.as_bytes()));
                    header.set_link_name(truncated(target, 99)).map_err(fail)?;
                }
                (tar::EntryType::Symlink, 0)
            }
        };
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_cksum();
        if !pax.is_empty() {
            tar.append_pax_extensions(pax).map_err(fail)?;
        }
        match &entry.kind {
            Kind::File(src, _) => {
                let file = fs::File::open(src).map_err(|e| io_error(src, e))?;
                let mut limited = file.take(size);
                tar.append(&header, &mut limited)
                    .map_err(|e| io_error(src, e))?;
            }
            _ => tar.append(&header, io::empty()).map_err(fail)?,
        }
    }
    let (compressor, diff_id, _) = tar.into_inner().map_err(fail)?.finish();
    let (bytes, digest, size) = compressor.finish().map_err(fail)?.finish();
    Ok(Layer {
        descriptor: Descriptor::new(compression.media_type(), digest, size),
        diff_id,
        blob: Blob::Bytes(Arc::new(bytes)),
    })
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A layer of the tar file at `path` (plain, gzip or zstd, told by its
/// first bytes), kept byte for byte; read once to check it is a tar and to
/// compute its diff_id.
///
/// Errors: [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when it
/// does not exist; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
/// when it is not a tar (or its compressed stream is broken).
pub fn from_tar(path: &Path) -> Result<Layer> {
    let open = || fs::File::open(path).map_err(|e| io_error(path, e));
    let mut magic = [0u8; 4];
    let got = open()?.read(&mut magic).map_err(|e| io_error(path, e))?;
    let media_type = match &magic[..got] {
        [0x1f, 0x8b, ..] => media_types::OCI_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd] => media_types::OCI_LAYER_ZSTD,
        _ => media_types::OCI_LAYER,
    };
    let mut file = HashingReader {
        inner: open()?,
        hasher: Hasher::new(Algorithm::Sha256),
    };
    let diff_id = check_tar(&mut file, media_type, path)?;
    io::copy(&mut file, &mut io::sink()).map_err(|e| io_error(path, e))?;
    let size = fs::metadata(path).map_err(|e| io_error(path, e))?.len();
    Ok(Layer {
        descriptor: Descriptor::new(media_type, file.hasher.finish(), size),
        diff_id,
        blob: Blob::File(path.to_path_buf()),
    })
}

/// Reads the (compressed) tar `file` through, checking it is a tar of at
/// least one entry; returns the digest of the uncompressed tar.
fn check_tar(file: &mut dyn Read, media_type: &str, path: &Path) -> Result<crate::digest::Digest> {
    let not_tar =
        |e: io::Error| Error::invalid(format!("{} is not a tar archive: {e}", path.display()));
    let decompressed: Box<dyn Read + '_> = match media_type {
        media_types::OCI_LAYER_GZIP => Box::new(flate2::read::GzDecoder::new(file)),
        media_types::OCI_LAYER_ZSTD => Box::new(zstd::Decoder::new(file).map_err(not_tar)?),
        _ => Box::new(file),
    };
    let mut tar_stream = HashingReader {
        inner: decompressed,
        hasher: Hasher::new(Algorithm::Sha256),
    };
    let mut count = 0;
    {
        let mut archive = tar::Archive::new(&mut tar_stream);
        for entry in archive.entries().map_err(not_tar)? {
            let mut entry = entry.map_err(not_tar)?;
            io::copy(&mut entry, &mut io::sink()).map_err(not_tar)?;
            count += 1;
        }
    }
    io::copy(&mut tar_stream, &mut io::sink()).map_err(not_tar)?;
    if count == 0 {
        return Err(Error::invalid(format!(
            "{} is not a tar archive: it holds no entries",
            path.display()
        )));
    }
    Ok(tar_stream.hasher.finish())
}

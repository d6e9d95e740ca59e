//! The export verb: the merged root as one uncompressed tar stream, in path
//! order, no whiteouts (what `crane export` writes).

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::{FilesOptions, ImageFs};
use crate::error::{from_io, Error, Result};
use crate::layer::{Entry, EntryKind};
use crate::new_file::{output_dir, temp_file_in, FILE_MODE};
use crate::progress::CancellableWriter;
use crate::transport::ImageRef;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The number of tar entries written.
    pub entries: u64,
    /// The bytes of file content written (headers not counted).
    pub content_bytes: u64,
}

/// Writes the merged root of `image` to `out` as one uncompressed tar (GNU
/// headers, PAX records for extended attributes), in path order. A hard
/// link stays a link when its target is written before it with the same
/// bytes; otherwise it is written as a file.
pub fn export(
    image: &ImageRef,
    out: &mut dyn Write,
    options: &FilesOptions,
) -> Result<ExportReport> {
    let fs = ImageFs::open_spooled(image, options)?;
    write_tar(&fs, out, None)
}

/// Exports like [`export()`] into the file `path`: written to a temporary
/// file beside it and renamed into place only when complete, so `path` holds
/// the whole export or is left as it was. The file is created with mode
/// `0o644` less the umask, as skopeo creates an archive. Errors: those of
/// [`export()`], [`ErrorKind::Io`](crate::ErrorKind::Io) naming the path, and
/// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) once
/// `options.cancel` is cancelled (the temporary file is removed).
pub fn export_to_path(
    image: &ImageRef,
    path: &Path,
    options: &FilesOptions,
) -> Result<ExportReport> {
    let dir = output_dir(path)?;
    let mut temp = temp_file_in(dir, ".stevedore-export-", FILE_MODE)
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
    let report = {
        let cancellable =
            CancellableWriter::new(temp.as_file_mut(), options.cancel.as_ref(), "the export");
        let mut buffered = io::BufWriter::with_capacity(1 << 20, cancellable);
        let report = export(image, &mut buffered, options)?;
        buffered
            .flush()
            .map_err(|e| from_io(format!("writing {}", path.display()), e))?;
        report
    };
    temp.persist(path).map_err(|e| {
        Error::io(
            format!("moving the export into {}", path.display()),
            e.error,
        )
    })?;
    Ok(report)
}

/// Writes the merged root of `fs` to `out` as [`export()`] does; with
/// `clamp`, no entry's mtime is later than `clamp` (seconds since 1970).
pub(crate) fn write_tar(
    fs: &ImageFs,
    out: &mut dyn Write,
    clamp: Option<u64>,
) -> Result<ExportReport> {
    let fail = |what: &str, e: io::Error| from_io(format!("exporting {what}"), e);
    let mut builder = tar::Builder::new(out);
    let mut report = ExportReport {
        entries: 0,
        content_bytes: 0,
    };
    for entry in fs.entries() {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_uid(entry.uid);
        header.set_gid(entry.gid);
        header.set_mtime(clamp.map_or(entry.mtime, |c| entry.mtime.min(c)));
        header.set_size(0);
        if !entry.xattrs.is_empty() {
            let records: Vec<(String, &[u8])> = entry
                .xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice()))
                .collect();
            builder
                .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
                .map_err(|e| fail(&entry.path, e))?;
        }
        let path = if entry.kind == EntryKind::Dir {
            format!("{}/", entry.path)
        } else {
            entry.path.clone()
        };
        let result = match entry.kind {
            EntryKind::Symlink => {
                header.set_entry_type(tar::EntryType::Symlink);
                let target = entry.link_target.as_deref().unwrap_or("");
                builder.append_link(&mut header, &path, target)
            }
            EntryKind::Hardlink if link_kept(fs, entry) => {
                header.set_entry_type(tar::EntryType::Link);
                let target = entry.link_target.as_deref().unwrap_or("");
                builder.append_link(&mut header, &path, target)
            }
            EntryKind::File | EntryKind::Hardlink => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(entry.size);
                report.content_bytes += entry.size;
                let content = fs.open_entry(entry)?;
                builder.append_data(&mut header, &path, content)
            }
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                builder.append_data(&mut header, &path, io::empty())
            }
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => {
                header.set_entry_type(match entry.kind {
                    EntryKind::CharDevice => tar::EntryType::Char,
                    EntryKind::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                let (major, minor) = entry.device.unwrap_or((0, 0));
                header
                    .set_device_major(major)
                    .and_then(|()| header.set_device_minor(minor))
                    .and_then(|()| builder.append_data(&mut header, &path, io::empty()))
            }
        };
        result.map_err(|e| fail(&entry.path, e))?;
        report.entries += 1;
    }
    builder
        .into_inner()
        .and_then(|out| out.flush())
        .map_err(|e| fail("the end of the archive", e))?;
    Ok(report)
}

/// Whether a hard link can stay a link: its target comes first in path
/// order and still holds the same bytes.
fn link_kept(fs: &ImageFs, entry: &Entry) -> bool {
    let Some(target) = entry.link_target.as_deref() else {
        return false;
    };
    target < entry.path.as_str()
        && fs
            .view()
            .get(target)
            .is_some_and(|t| t.kind.has_data() && t.data == entry.data)
}

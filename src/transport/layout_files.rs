//! Files of layouts and archives on disk: small ones (`index.json`,
//! `manifest.json`, `version`) read with a size limit and written atomically,
//! and whole tar archives written atomically.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::new_file::{output_dir, temp_file_in, FILE_MODE};

use crate::descriptor::Descriptor;
use crate::digest::VerifyingReader;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{FsStore, Store, COPY_BUFFER_SIZE};

/// A reader of blob `descriptor` from `store` (of the transport `name`),
/// verified against the descriptor as it streams.
pub(super) fn verified_blob(
    store: &FsStore,
    name: &str,
    descriptor: &Descriptor,
) -> Result<Box<dyn Read + Send>> {
    let file = store.open(&descriptor.digest).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Error::not_found(format!("blob {} is missing from {name}", descriptor.digest))
        } else {
            e
        }
    })?;
    Ok(Box::new(VerifyingReader::new(
        file,
        descriptor.digest.clone(),
        Some(descriptor.size),
    )))
}

/// Reads the file at `path` whole, refused when larger than `limit` bytes.
pub(super) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::invalid(format!(
            "{} is larger than the {limit}-byte limit for manifests",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The topmost directory a layout or `dir:` handle created for its root (the
/// root, or a parent the root was created in), removed again when the write
/// is abandoned.
#[derive(Default)]
pub(super) struct CreatedRoot(Mutex<Option<PathBuf>>);

impl CreatedRoot {
    /// Creates `root` with its missing parents (see
    /// [`create_dir_with_parents`]) and remembers the topmost one made.
    /// Errors: as `create_dir_with_parents`'s, `AlreadyExists` included.
    pub(super) fn create(&self, root: &Path) -> io::Result<()> {
        let top = create_dir_with_parents(root)?;
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(top);
        Ok(())
    }

    /// Removes what [`CreatedRoot::create`] made, if anything; whether it had
    /// made something. Best effort: the directory is the handle's alone, and
    /// an error here must not hide the error that made the write fail.
    pub(super) fn remove(&self) -> bool {
        let top = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        match top {
            Some(top) => {
                let _ = fs::remove_dir_all(top);
                true
            }
            None => false,
        }
    }
}

/// Creates the directory `root` of a new layout or `dir:` with its missing
/// parents, as skopeo does (containers/image calls `MkdirAll`). Returns the
/// topmost directory it created, whose removal undoes it all. Errors: the
/// `io::Error` of the first directory that cannot be made; `AlreadyExists`
/// when `root` exists.
fn create_dir_with_parents(root: &Path) -> io::Result<PathBuf> {
    let mut top = root;
    while let Some(parent) = top.parent().filter(|p| !p.as_os_str().is_empty()) {
        if fs::symlink_metadata(parent).is_ok() {
            break;
        }
        top = parent;
    }
    if let Some(parent) = root.parent().filter(|_| top != root) {
        fs::create_dir_all(parent)?;
    }
    fs::create_dir(root)?;
    Ok(top.to_owned())
}

/// Writes `bytes` to `path` through a flushed temporary file in `dir` and a rename.
pub(super) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e| Error::io(format!("writing {}", path.display()), e);
    let mut temp = temp_file_in(dir, ".stevedore-", FILE_MODE).map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// What one file of an archive being written holds.
pub(super) enum ArchiveFile {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The content of this file on disk.
    Copy(PathBuf),
}

/// Writes an uncompressed tar archive of `files` (name, content) to `path`
/// through a flushed temporary file beside it and a rename, so that `path`
/// either keeps its old content or holds the whole new archive. Entries
/// carry no owner and no time, so the same files make the same archive.
pub(super) fn write_archive(path: &Path, files: &[(String, ArchiveFile)]) -> Result<()> {
    let dir = output_dir(path)?;
    let fail = |e| Error::io(format!("writing {}", path.display()), e);
    let temp = temp_file_in(dir, ".stevedore-", FILE_MODE).map_err(fail)?;
    let mut builder = tar::Builder::new(BufWriter::with_capacity(COPY_BUFFER_SIZE, temp));
    for (name, content) in files {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        match content {
            ArchiveFile::Bytes(bytes) => {
                header.set_size(bytes.len() as u64);
                builder
                    .append_data(&mut header, name, bytes.as_slice())
                    .map_err(fail)?;
            }
            ArchiveFile::Copy(source) => {
                let file = File::open(source)
                    .map_err(|e| Error::io(format!("reading {}", source.display()), e))?;
                let size = file
                    .metadata()
                    .map_err(|e| Error::io(format!("reading {}", source.display()), e))?
                    .len();
                header.set_size(size);
                builder.append_data(&mut header, name, file).map_err(fail)?;
            }
        }
    }
    let temp = builder
        .into_inner()
        .map_err(fail)?
        .into_inner()
        .map_err(|e| fail(e.into_error()))?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

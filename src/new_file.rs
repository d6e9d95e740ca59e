//! Files that appear whole or not at all, even when the process is killed
//! while writing them: written unnamed (`O_TMPFILE`) in their directory,
//! flushed, then linked under their name. Where the file system cannot make
//! unnamed files, a named temporary file and a rename stand in (a kill then
//! leaves a `.stevedore-blob-*` file behind, never a partial blob).
// One call std does not offer: `linkat` with `AT_SYMLINK_FOLLOW`.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::append::Appender;
use crate::error::{Error, ErrorKind, Result};

/// The mode the files of a layout, a `dir:` and an archive are created
/// with before the umask applies, as skopeo creates them: `0o644` under
/// umask `022`, `0o600` under `077`.
pub(crate) const FILE_MODE: u32 = 0o644;

/// The directory an output file the caller named (`-o FILE`) is written in:
/// `path`'s parent, `.` for a bare name. Errors: [`ErrorKind::Io`] naming the
/// directory when it does not exist or is not a directory (a path the user
/// gave that cannot be written, not a missing image or blob).
pub(crate) fn output_dir(path: &Path) -> Result<&Path> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let why = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(dir),
        Ok(_) => format!("{} is a file, not a directory", dir.display()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => format!(
            "the directory {} does not exist (create it first)",
            dir.display()
        ),
        Err(e) => format!("the directory {} cannot be read: {e}", dir.display()),
    };
    Err(Error::new(
        ErrorKind::Io,
        format!("cannot write {}: {why}", path.display()),
    ))
}

/// A named temporary file in `dir`, starting with `prefix`, created with
/// `mode` less the process umask (tempfile's default, `0o600`, would make
/// every file renamed from it private).
pub(crate) fn temp_file_in(
    dir: &Path,
    prefix: &str,
    mode: u32,
) -> io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
}

/// A file being written, to be published under `path` by [`NewFile::publish`].
pub struct NewFile {
    inner: Inner,
    path: PathBuf,
    written: u64,
}

enum Inner {
    Unnamed(File),
    Named(tempfile::NamedTempFile),
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
}

impl NewFile {
    /// Starts the file that will be `path` (whose directory must exist).
    pub fn create(path: &Path) -> io::Result<NewFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let unnamed = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_TMPFILE)
            .open(dir);
        let inner = match unnamed {
            Ok(file) => Inner::Unnamed(file),
            Err(_) => Inner::Named(temp_file_in(dir, ".stevedore-blob-", FILE_MODE)?),
        };
        Ok(NewFile {
            inner,
            path: path.to_owned(),
            written: 0,
        })
    }

    fn file(&self) -> &File {
        match &self.inner {
            Inner::Unnamed(file) => file,
            Inner::Named(temp) => temp.as_file(),
        }
    }

    /// Appends everything `content` yields (`expected` bytes, when known),
    /// with `direct` I/O where the file system takes it, else through the
    /// page cache (see [`Appender`]); returns the byte count.
    pub fn append_from(
        &mut self,
        content: &mut dyn Read,
        expected: Option<u64>,
        direct: bool,
    ) -> io::Result<u64> {
        let mut appender = match direct {
            true => Appender::direct(self.file(), self.written, expected)?,
            false => Appender::cached(self.file(), self.written, expected)?.writing_back(),
        };
        let read = appender.read_all(content)?;
        self.written = appender.finish()?;
        Ok(read)
    }

    /// Flushes the file to disk and gives it its name. When a file of that
    /// name appeared meanwhile (another writer of the same content), it is
    /// kept and this one dropped.
    pub fn publish(self) -> io::Result<()> {
        self.file().sync_all()?;
        match self.inner {
            Inner::Named(temp) => temp.persist(&self.path).map(drop).map_err(|e| e.error),
            Inner::Unnamed(file) => {
                let target = c_path(&self.path)?;
                let by_proc = c_path(Path::new(&format!("/proc/self/fd/{}", file.as_raw_fd())))?;
                // SAFETY: both paths are NUL-terminated C strings that outlive
                // the calls, and `file` is open for their duration.
                let linked = unsafe {
                    libc::linkat(
                        libc::AT_FDCWD,
                        by_proc.as_ptr(),
                        libc::AT_FDCWD,
                        target.as_ptr(),
                        libc::AT_SYMLINK_FOLLOW,
                    ) == 0
                        || libc::linkat(
                            file.as_raw_fd(),
                            c"".as_ptr(),
                            libc::AT_FDCWD,
                            target.as_ptr(),
                            libc::AT_EMPTY_PATH,
                        ) == 0
                };
                let error = io::Error::last_os_error();
                match linked {
                    true => Ok(()),
                    false if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                    false => Err(error),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_published() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let mut new = NewFile::create(&path).unwrap();
        new.append_from(&mut &b"content"[..], Some(7), true)
            .unwrap();
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        new.publish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"content");
        // A second writer of the same name keeps the first file.
        let mut again = NewFile::create(&path).unwrap();
        again
            .append_from(&mut &b"content"[..], None, false)
            .unwrap();
        again.publish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"content");
    }

    #[test]
    fn a_dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut new = NewFile::create(&dir.path().join("blob")).unwrap();
        new.append_from(&mut &b"partial"[..], None, true).unwrap();
        drop(new);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

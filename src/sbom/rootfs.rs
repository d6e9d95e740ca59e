//! The filesystem an SBOM is made from: a [`RootFs`] trait, and [`DirRootFs`] over a
//! host directory.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// How many symbolic links one lookup may follow before it is refused as a loop
/// (Linux's own limit, `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// One entry of a root filesystem, as [`RootFs::entries`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path relative to the image root, `/`-separated, without a leading slash
    /// (`usr/bin/skopeo`).
    pub path: String,
    /// Whether the entry is a regular file (not a directory, symbolic link, device…).
    /// Hard links to regular files are regular files.
    pub is_regular_file: bool,
    /// The file's size in bytes (0 for anything but a regular file).
    pub size: u64,
    /// The Unix permission bits (`0o755`…); catalogers look for binaries only among
    /// regular files with an execute bit.
    pub mode: u32,
}

/// A read-only root filesystem to catalog: the merged layer view of an image, or a
/// host directory ([`DirRootFs`]).
///
/// Implementations keep every lookup inside the root: a symbolic link is resolved
/// against the root (an absolute target or `..` never reaches the host).
pub trait RootFs {
    /// Every entry of the filesystem, in any order. Errors when the filesystem
    /// cannot be listed at all.
    fn entries(&self) -> Result<Vec<Entry>>;

    /// The first `max_bytes` bytes of the regular file at `path` (relative to the
    /// root, no leading slash), all of it when it is shorter. Symbolic links on the
    /// way are followed inside the root. Errors: [`ErrorKind::NotFound`] when the
    /// path or a link target is missing, [`ErrorKind::InvalidInput`] when it is not
    /// a regular file or the links loop, [`ErrorKind::Io`] when reading fails.
    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>>;

    /// Up to `len` bytes of the regular file at `path` from byte `offset` on (fewer
    /// at its end, none past it), links followed as [`read`](RootFs::read) follows
    /// them and with its errors. Catalogers read executables' ELF headers and
    /// sections this way, so memory stays bounded however large a binary is.
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>>;
}

/// A [`RootFs`] over a directory of the host (an unpacked image, a `dir:` input).
///
/// Symbolic links are never followed out of the directory: they are resolved
/// against the directory as if it were `/`, and the final open refuses a link.
#[derive(Debug, Clone)]
pub struct DirRootFs {
    root: PathBuf,
}

impl DirRootFs {
    /// A root filesystem over the directory `root`. Errors when `root` is not a
    /// directory ([`ErrorKind::InvalidInput`]) or cannot be read.
    pub fn new(root: impl AsRef<Path>) -> Result<DirRootFs> {
        let root = root.as_ref();
        let meta = fs::metadata(root).map_err(|e| Error::io(root.display(), e))?;
        if !meta.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(DirRootFs {
            root: root.to_path_buf(),
        })
    }

    /// Resolves `path` to the host path of a non-link entry inside the root,
    /// following symbolic links against the root.
    fn resolve(&self, path: &str) -> Result<PathBuf> {
        let mut pending: Vec<String> = split(path).rev().collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                resolved.pop();
                continue;
            }
            let mut host = self.root.clone();
            host.extend(&resolved);
            host.push(&name);
            let meta = fs::symlink_metadata(&host)
                .map_err(|e| Error::io(format!("looking up /{path} in the root fs"), e))?;
            if meta.file_type().is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Error::invalid(format!(
                        "/{path}: more than {MAX_LINKS} symbolic links (a loop?)"
                    )));
                }
                let target = fs::read_link(&host).map_err(|e| Error::io(host.display(), e))?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(split(&target).rev());
            } else {
                resolved.push(name);
            }
        }
        let mut host = self.root.clone();
        host.extend(&resolved);
        Ok(host)
    }

    fn walk(&self, dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<()> {
        let listing = fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))?;
        for item in listing {
            let item = item.map_err(|e| Error::io(dir.display(), e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let meta = item
                .metadata()
                .map_err(|e| Error::io(item.path().display(), e))?;
            let is_regular_file = meta.file_type().is_file();
            out.push(Entry {
                path: path.clone(),
                is_regular_file,
                size: if is_regular_file { meta.len() } else { 0 },
                mode: meta.mode() & 0o7777,
            });
            if meta.file_type().is_dir() {
                self.walk(&item.path(), &path, out)?;
            }
        }
        Ok(())
    }
}

/// The normal components of a `/`-separated path (`.` and empty ones dropped,
/// `..` kept).
fn split(path: &str) -> impl DoubleEndedIterator<Item = String> + '_ {
    Path::new(path).components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
        Component::ParentDir => Some("..".to_string()),
        _ => None,
    })
}

impl RootFs for DirRootFs {
    fn entries(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        self.walk(&self.root, "", &mut out)?;
        Ok(out)
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>> {
        let (file, size) = self.open_regular(path)?;
        let mut bytes = Vec::with_capacity(size.min(max_bytes) as usize);
        file.take(max_bytes)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading /{path} in the root fs"), e))?;
        Ok(bytes)
    }

    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let (file, size) = self.open_regular(path)?;
        let len = len.min(size.saturating_sub(offset));
        let mut bytes = vec![0; usize::try_from(len).unwrap_or(0)];
        let mut done = 0;
        while done < bytes.len() {
            match file.read_at(&mut bytes[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(format!("reading /{path} in the root fs"), e)),
            }
        }
        bytes.truncate(done);
        Ok(bytes)
    }
}

impl DirRootFs {
    /// The regular file `path` names, opened without following a last link
    /// out of the root, and its size.
    fn open_regular(&self, path: &str) -> Result<(fs::File, u64)> {
        let host = self.resolve(path)?;
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&host)
            .map_err(|e| Error::io(format!("opening /{path} in the root fs"), e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format!("/{path}"), e))?;
        if !meta.is_file() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("/{path} is not a regular file"),
            ));
        }
        Ok((file, meta.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), b"host").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("usr/lib/os-release"), b"ID=test\n").unwrap();
        std::os::unix::fs::symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
        std::os::unix::fs::symlink("/usr/lib/os-release", root.join("etc/abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../../../secret", root.join("etc/up")).unwrap();
        let host_secret = outside.path().join("secret");
        std::os::unix::fs::symlink(&host_secret, root.join("etc/host")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("etc/loop")).unwrap();
        let fs = DirRootFs::new(root).unwrap();

        assert_eq!(fs.read("etc/os-release", 100).unwrap(), b"ID=test\n");
        assert_eq!(fs.read("etc/abs", 3).unwrap(), b"ID=");
        assert_eq!(
            fs.read("etc/up", 100).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs.read("etc/host", 100).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs.read("etc/loop", 100).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            fs.read("etc", 100).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );

        let entries = fs.entries().unwrap();
        let file = entries
            .iter()
            .find(|e| e.path == "usr/lib/os-release")
            .unwrap();
        assert!(file.is_regular_file);
        assert_eq!(file.size, 8);
        let link = entries.iter().find(|e| e.path == "etc/host").unwrap();
        assert!(!link.is_regular_file);
    }
}

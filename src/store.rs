//! Content-addressed blob stores: a [`Store`] trait, a file-system store laid out
//! like an OCI layout's `blobs/` directory, and an in-memory store.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::digest::{Digest, VerifyingReader};
use crate::error::{from_io, Error, Result};
use crate::new_file::NewFile;

/// The buffer size for streaming blobs to and from disk.
pub const COPY_BUFFER_SIZE: usize = 1 << 20;

/// Copies `reader` to `writer` through one large buffer; returns the byte count.
pub fn copy_stream(reader: &mut dyn Read, writer: &mut dyn Write) -> io::Result<u64> {
    let mut buf = vec![0u8; COPY_BUFFER_SIZE];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// A store of blobs addressed by digest. Safe to share between threads.
pub trait Store: Send + Sync {
    /// The size of the blob, or `None` when the store does not have it.
    fn stat(&self, digest: &Digest) -> Result<Option<u64>>;

    /// A reader of the blob's bytes as stored ([`ErrorKind::NotFound`] when
    /// absent). Callers that need integrity wrap it in a [`VerifyingReader`].
    ///
    /// [`ErrorKind::NotFound`]: crate::ErrorKind::NotFound
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>>;

    /// Stores `content`, which must have `digest` (and `size`, when given);
    /// returns the size. Content that does not verify is not stored, and a
    /// reader never sees a partly written blob. A blob already present is kept
    /// and `content` is not read.
    fn put(&self, digest: &Digest, size: Option<u64>, content: &mut dyn Read) -> Result<u64>;

    /// Stores `content` like [`put`](Store::put), but `content` verifies
    /// itself (it fails, before ending, when it does not match `digest` and
    /// `size`, as [`VerifyingReader`] does), so it is not hashed again.
    fn put_verified(&self, digest: &Digest, size: u64, content: &mut dyn Read) -> Result<u64> {
        self.put(digest, Some(size), content)
    }

    /// Removes the blob; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound)
    /// when absent.
    fn delete(&self, digest: &Digest) -> Result<()>;

    /// A reader of the blob's bytes from byte `offset` on.
    fn open_from(&self, digest: &Digest, offset: u64) -> Result<Box<dyn Read + Send>> {
        let mut reader = self.open(digest)?;
        io::copy(&mut (&mut reader).take(offset), &mut io::sink())
            .map_err(|e| Error::io(format!("reading blob {digest}"), e))?;
        Ok(reader)
    }

    /// Stores the file at `path`, which the caller verified holds `digest`
    /// (`size` bytes), consuming the file: moved into place where the store
    /// is on its file system, else copied and removed.
    fn put_file(&self, digest: &Digest, size: u64, path: &Path) -> Result<()> {
        let mut file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        self.put_verified(digest, size, &mut file)?;
        fs::remove_file(path).map_err(|e| Error::io(format!("removing {}", path.display()), e))
    }
}

/// Blobs on disk at `ROOT/blobs/ALGORITHM/HEX`, the layout of an OCI image
/// layout's `blobs/` directory, or flat at `ROOT/HEX` (`ROOT/ALGORITHM-HEX`
/// beyond sha256), the layout of skopeo's `dir:`. Writes go to an unnamed
/// file beside their place, are verified and flushed to disk, then named, so
/// a blob is never seen partly written, even after a kill. They bypass the
/// page cache (direct I/O) unless the store is [`cached`](FsStore::cached).
/// Where the file system has no unnamed files, a named `.stevedore-blob-*`
/// file stands in; the first write of a store removes those older than
/// [`STALE_TEMP_AGE`] that killed writers left, and readers never look at
/// them.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    flat: bool,
    direct: bool,
    /// Whether this store's first write already removed stale temp files.
    swept: Arc<std::sync::atomic::AtomicBool>,
}

/// How old a `.stevedore-blob-*` temp file must be before a write to its
/// store removes it: older than any write still going on.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Removes the `.stevedore-blob-*` files in `dir` last modified more than
/// [`STALE_TEMP_AGE`] ago: what a writer killed mid-blob left (on file
/// systems without unnamed files). Errors are ignored: this is tidying.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_string_lossy()
            .starts_with(".stevedore-blob-")
            && entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

impl FsStore {
    /// A store rooted at `root` in the OCI layout (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> FsStore {
        FsStore {
            root: root.into(),
            flat: false,
            direct: true,
            swept: Arc::default(),
        }
    }

    /// A store of files directly in `root`, named by their hex digest.
    pub fn flat(root: impl Into<PathBuf>) -> FsStore {
        FsStore {
            root: root.into(),
            flat: true,
            direct: true,
            swept: Arc::default(),
        }
    }

    /// This store, writing through the page cache: for content that is read
    /// back soon, as an archive's staged blobs and a registry's are.
    pub fn cached(self) -> FsStore {
        FsStore {
            direct: false,
            ..self
        }
    }

    /// The blob's file name relative to the root.
    pub fn relative_path(&self, digest: &Digest) -> String {
        match (self.flat, digest.algorithm()) {
            (true, crate::digest::Algorithm::Sha256) => digest.hex().to_owned(),
            (true, algorithm) => format!("{}-{}", algorithm.as_str(), digest.hex()),
            (false, algorithm) => format!("blobs/{}/{}", algorithm.as_str(), digest.hex()),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path where the blob `digest` lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join(self.relative_path(digest))
    }

    /// On this store's first write, removes the stale temp files in `dir`
    /// (where its blobs go) that killed writers left.
    fn sweep(&self, dir: &Path) {
        if !self.swept.swap(true, std::sync::atomic::Ordering::SeqCst) {
            remove_stale_temps(dir);
        }
    }

    /// Writes `content` (which verifies itself) to a new file, checks its
    /// size, flushes it, and names it; a blob already present is kept and
    /// `content` is not read.
    fn write(&self, digest: &Digest, size: Option<u64>, content: &mut dyn Read) -> Result<u64> {
        if let Some(existing) = self.stat(digest)? {
            return Ok(existing);
        }
        let path = self.blob_path(digest);
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        self.sweep(dir);
        let mut new = NewFile::create(&path)
            .map_err(|e| Error::io(format!("creating a new file in {}", dir.display()), e))?;
        let written = new
            .append_from(content, size, self.direct)
            .map_err(|e| from_io(format!("writing blob {digest}"), e))?;
        if let Some(size) = size.filter(|&s| s != written) {
            return Err(Error::new(
                crate::error::ErrorKind::DigestMismatch,
                format!("blob {digest} has {written} bytes, not the {size} announced"),
            ));
        }
        new.publish()
            .map_err(|e| Error::io(format!("storing blob {digest} at {}", path.display()), e))?;
        Ok(written)
    }
}

impl Store for FsStore {
    fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        let path = self.blob_path(digest);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Err(Error::invalid(format!(
                "{} is not a regular file",
                path.display()
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let path = self.blob_path(digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                Error::not_found(format!("blob {digest} is missing ({})", path.display()))
            }
            _ => Error::io(format!("opening {}", path.display()), e),
        })?;
        Ok(Box::new(file))
    }

    fn put(&self, digest: &Digest, size: Option<u64>, content: &mut dyn Read) -> Result<u64> {
        let mut verified = VerifyingReader::new(content, digest.clone(), size);
        self.write(digest, size, &mut verified)
    }

    fn put_verified(&self, digest: &Digest, size: u64, content: &mut dyn Read) -> Result<u64> {
        self.write(digest, Some(size), content)
    }

    fn open_from(&self, digest: &Digest, offset: u64) -> Result<Box<dyn Read + Send>> {
        let path = self.blob_path(digest);
        let mut file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                Error::not_found(format!("blob {digest} is missing ({})", path.display()))
            }
            _ => Error::io(format!("opening {}", path.display()), e),
        })?;
        file.seek(io::SeekFrom::Start(offset))
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Ok(Box::new(file))
    }

    fn put_file(&self, digest: &Digest, size: u64, path: &Path) -> Result<()> {
        let target = self.blob_path(digest);
        let dir = target.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        match fs::rename(path, &target) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                let mut file = File::open(path)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                self.put_verified(digest, size, &mut file)?;
                fs::remove_file(path)
                    .map_err(|e| Error::io(format!("removing {}", path.display()), e))
            }
            Err(e) => Err(Error::io(
                format!("moving a blob to {}", target.display()),
                e,
            )),
        }
    }

    fn delete(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        fs::remove_file(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                Error::not_found(format!("blob {digest} is not in the store"))
            }
            _ => Error::io(format!("removing {}", path.display()), e),
        })
    }
}

/// Blobs in memory, for tests and short-lived work on small images.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    blobs: Arc<RwLock<HashMap<Digest, Arc<[u8]>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn blobs(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Digest, Arc<[u8]>>> {
        self.blobs
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        Ok(self.blobs().get(digest).map(|b| b.len() as u64))
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let blob = self
            .blobs()
            .get(digest)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("blob {digest} is not in the store")))?;
        Ok(Box::new(io::Cursor::new(blob)))
    }

    fn put(&self, digest: &Digest, size: Option<u64>, content: &mut dyn Read) -> Result<u64> {
        if let Some(existing) = self.stat(digest)? {
            return Ok(existing);
        }
        let mut bytes = Vec::new();
        VerifyingReader::new(content, digest.clone(), size)
            .read_to_end(&mut bytes)
            .map_err(|e| from_io(format!("reading blob {digest}"), e))?;
        let len = bytes.len() as u64;
        self.blobs
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(digest.clone(), bytes.into());
        Ok(len)
    }

    fn delete(&self, digest: &Digest) -> Result<()> {
        self.blobs
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(digest)
            .map(drop)
            .ok_or_else(|| Error::not_found(format!("blob {digest} is not in the store")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn exercise(store: &dyn Store) {
        let d = Digest::sha256(b"blob");
        assert_eq!(store.stat(&d).unwrap(), None);
        assert_eq!(store.open(&d).err().unwrap().kind(), ErrorKind::NotFound);
        assert_eq!(store.put(&d, Some(4), &mut &b"blob"[..]).unwrap(), 4);
        assert_eq!(store.stat(&d).unwrap(), Some(4));
        let mut out = Vec::new();
        store.open(&d).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, b"blob");
        let other = Digest::sha256(b"other");
        let err = store.put(&other, None, &mut &b"not other"[..]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert_eq!(store.stat(&other).unwrap(), None);
        store.delete(&d).unwrap();
        assert_eq!(store.delete(&d).unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[test]
    fn memory_store_verifies_and_deletes() {
        exercise(&MemoryStore::new());
    }

    #[test]
    fn fs_store_verifies_leaves_nothing_partial_and_is_safe_for_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        exercise(&store);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "blobs")
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

        // Self-verifying content is not hashed again, but its size is checked
        // before anything is renamed into place.
        let short = Digest::sha256(b"short");
        let err = store
            .put_verified(&short, 9, &mut &b"short"[..])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert_eq!(store.stat(&short).unwrap(), None);
        assert_eq!(
            store.put_verified(&short, 5, &mut &b"short"[..]).unwrap(),
            5
        );

        let content = vec![7u8; 3 * COPY_BUFFER_SIZE + 5];
        let d = Digest::sha256(&content);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    store
                        .put(&d, Some(content.len() as u64), &mut &content[..])
                        .unwrap()
                });
            }
        });
        assert_eq!(fs::read(store.blob_path(&d)).unwrap(), content);
    }
}

//! Tar and gzip over the `tar` and `flate2` crates: writing reproducible layer
//! tarballs while computing their digests in the same pass.

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{from_io, Error, Result};

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`, hashing with SHA-256.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::new(Algorithm::Sha256),
            written: 0,
        }
    }

    /// The inner writer, the digest and the byte count of everything written.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, self.hasher.finish(), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What a finished layer is known by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigests {
    /// The digest of the compressed blob (what manifests reference).
    pub digest: Digest,
    /// The size of the compressed blob.
    pub size: u64,
    /// The digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
}

type LayerStream<W> = HashingWriter<GzEncoder<HashingWriter<W>>>;

/// Writes a gzip-compressed layer tarball to `W`, reproducibly: every entry
/// has owner 0:0 and modification time 0, so the same entries give the same
/// digests.
pub struct LayerBuilder<W: Write> {
    tar: tar::Builder<LayerStream<W>>,
}

impl<W: Write> LayerBuilder<W> {
    /// A builder writing to `out`.
    pub fn new(out: W) -> Self {
        let gzip = GzEncoder::new(HashingWriter::new(out), Compression::default());
        let mut tar = tar::Builder::new(HashingWriter::new(gzip));
        tar.mode(tar::HeaderMode::Deterministic);
        LayerBuilder { tar }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header
    }

    /// Adds a regular file at `path` (relative, `/`-separated) with `mode`.
    pub fn add_file(&mut self, path: &str, mode: u32, contents: &[u8]) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Regular, mode, contents.len() as u64);
        self.tar
            .append_data(&mut header, path, contents)
            .map_err(|e| from_io(format!("adding {path} to a layer"), e))
    }

    /// Adds a directory at `path` with `mode`.
    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Directory, mode, 0);
        self.tar
            .append_data(&mut header, path, io::empty())
            .map_err(|e| from_io(format!("adding {path} to a layer"), e))
    }

    /// Adds a symbolic link at `path` pointing to `target`.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.tar
            .append_link(&mut header, path, target)
            .map_err(|e| from_io(format!("adding {path} to a layer"), e))
    }

    /// Ends the tarball and the gzip stream; returns the output and the digests.
    pub fn finish(self) -> Result<(W, LayerDigests)> {
        let fail = |e| from_io("finishing a layer", e);
        let (gzip, diff_id, _) = self.tar.into_inner().map_err(fail)?.finish();
        let (out, digest, size) = gzip.finish().map_err(fail)?.finish();
        Ok((
            out,
            LayerDigests {
                digest,
                size,
                diff_id,
            },
        ))
    }
}

/// A layer built in memory: its compressed bytes and digests.
pub fn layer_from_files(files: &[(&str, &[u8])]) -> Result<(Vec<u8>, LayerDigests)> {
    let mut builder = LayerBuilder::new(Vec::new());
    for (path, contents) in files {
        if path.is_empty() || path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(Error::invalid(format!(
                "layer path {path:?} must be relative and stay inside the layer"
            )));
        }
        builder.add_file(path, 0o644, contents)?;
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn layers_are_reproducible_and_digests_match_the_bytes() {
        let (a, da) = layer_from_files(&[("etc/hello", b"hi\n")]).unwrap();
        let (b, db) = layer_from_files(&[("etc/hello", b"hi\n")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(da, db);
        assert_eq!(da.digest, Digest::sha256(&a));
        assert_eq!(da.size, a.len() as u64);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(da.diff_id, Digest::sha256(&tar));
        let mut archive = tar::Archive::new(&tar[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["etc/hello"]);
    }

    #[test]
    fn escaping_paths_are_refused() {
        for bad in ["/etc/passwd", "../x", "a/../../x", ""] {
            assert!(layer_from_files(&[(bad, b"")]).is_err(), "{bad}");
        }
    }
}

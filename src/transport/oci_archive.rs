//! The `oci-archive:PATH[:TAG|:@N]` transport: an OCI image layout inside an
//! uncompressed tar file. The archive is unpacked into a private directory
//! beside it, worked on as an `oci:` layout, and written back whole (through
//! a temporary file and a rename) when a copy into it finishes; images already
//! in it are kept, as in an `oci:` layout.

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::layout_files::{write_archive, ArchiveFile};
use super::oci_layout::selector_of;
use super::tar_index::normalise;
use super::{ImageRef, OciLayout, Selector, Transport};
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::new_file::output_dir;
use crate::store::COPY_BUFFER_SIZE;

/// The layout unpacked from (or to be packed into) the archive.
struct Unpacked {
    _dir: tempfile::TempDir,
    layout: Arc<OciLayout>,
}

/// An OCI layout in a tar file.
pub struct OciArchive {
    path: PathBuf,
    unpacked: Mutex<Option<Unpacked>>,
    changed: AtomicBool,
}

/// Parses the part after `oci-archive:`: `PATH[:TAG]` or `PATH:@INDEX`.
pub(super) fn parse(rest: &str) -> Result<ImageRef> {
    let (path, tag) = super::split_location(
        rest,
        "oci-archive: needs a file, as in oci-archive:/images/app.tar or \
             oci-archive:/images/app.tar:1.0",
    )?;
    let selector = tag.map(selector_of).transpose()?;
    Ok(ImageRef::new(Arc::new(OciArchive::new(path)), selector))
}

/// Whether `name` is a file of an OCI layout: `oci-layout`, `index.json` or
/// `blobs/ALGORITHM/HEX`.
fn is_layout_file(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["oci-layout"] | ["index.json"] => true,
        ["blobs", algorithm, hex] => {
            algorithm.bytes().all(|b| b.is_ascii_alphanumeric())
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        _ => false,
    }
}

/// Unpacks the layout files of the archive at `path` into `into`; anything
/// else in the archive (links, devices, other names) is ignored, so nothing
/// lands outside `into`.
fn unpack(path: &Path, into: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let bad = |e: io::Error| {
        Error::invalid(format!(
            "{} is not a readable tar archive: {e}",
            path.display()
        ))
    };
    let mut archive = tar::Archive::new(BufReader::with_capacity(COPY_BUFFER_SIZE, file));
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let Some(name) = normalise(&entry.path().map_err(bad)?) else {
            continue;
        };
        if !is_layout_file(&name) {
            continue;
        }
        let target = into.join(&name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        let mut out = File::create(&target)
            .map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
        io::copy(&mut entry, &mut out).map_err(bad)?;
    }
    if !into.join("oci-layout").exists() {
        return Err(Error::invalid(format!(
            "{} is not an oci-archive: it has no oci-layout file",
            path.display()
        )));
    }
    Ok(())
}

/// The files of the layout at `root`, as archive entries.
fn layout_files(root: &Path) -> Result<Vec<(String, ArchiveFile)>> {
    let mut files = Vec::new();
    for name in ["oci-layout", "index.json"] {
        files.push((name.to_owned(), ArchiveFile::Copy(root.join(name))));
    }
    let blobs = root.join("blobs");
    let list = |dir: &Path| -> Result<Vec<fs::DirEntry>> {
        let mut entries = fs::read_dir(dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        entries.sort_by_key(|e| e.file_name());
        Ok(entries)
    };
    if blobs.exists() {
        for algorithm in list(&blobs)? {
            for blob in list(&algorithm.path())? {
                let name = format!(
                    "blobs/{}/{}",
                    algorithm.file_name().to_string_lossy(),
                    blob.file_name().to_string_lossy()
                );
                if is_layout_file(&name) {
                    files.push((name, ArchiveFile::Copy(blob.path())));
                }
            }
        }
    }
    Ok(files)
}

impl OciArchive {
    /// The archive at `path` (read lazily; written when a copy into it finishes).
    pub fn new(path: impl Into<PathBuf>) -> OciArchive {
        OciArchive {
            path: path.into(),
            unpacked: Mutex::new(None),
            changed: AtomicBool::new(false),
        }
    }

    /// The layout, unpacked from the archive on first use (empty when the
    /// archive does not exist yet). It lives beside the archive when that
    /// directory is writable, so the new archive can be renamed into place.
    fn layout(&self) -> Result<Arc<OciLayout>> {
        let mut unpacked = self.unpacked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = unpacked.as_ref() {
            return Ok(Arc::clone(&u.layout));
        }
        let parent = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let dir = tempfile::Builder::new()
            .prefix(".stevedore-")
            .tempdir_in(&parent)
            .or_else(|_| tempfile::Builder::new().prefix("stevedore-").tempdir())
            .map_err(|e| Error::io("creating a directory to unpack an oci-archive", e))?;
        if self.path.exists() {
            unpack(&self.path, dir.path())?;
        }
        let layout = Arc::new(OciLayout::cached(dir.path()).shown_as(self.name()));
        *unpacked = Some(Unpacked {
            _dir: dir,
            layout: Arc::clone(&layout),
        });
        Ok(layout)
    }

    /// The layout, for reading: the archive must exist.
    fn source(&self) -> Result<Arc<OciLayout>> {
        if !self.path.exists() && !self.changed.load(Ordering::SeqCst) {
            return Err(Error::not_found(format!(
                "{} does not exist",
                self.path.display()
            )));
        }
        self.layout()
    }

    /// The layout, for writing: the archive is rewritten at `finalize`.
    /// Errors: [`ErrorKind::Io`](crate::ErrorKind::Io) when the archive's
    /// directory does not exist, before anything is written.
    fn target(&self) -> Result<Arc<OciLayout>> {
        output_dir(&self.path)?;
        let layout = self.layout()?;
        self.changed.store(true, Ordering::SeqCst);
        Ok(layout)
    }

    fn write(&self, layout: &OciLayout) -> Result<()> {
        write_archive(&self.path, &layout_files(layout.root())?)
            .map_err(|e| e.context(format!("writing {}", self.name())))
    }
}

impl Transport for OciArchive {
    fn name(&self) -> String {
        format!("oci-archive:{}", self.path.display())
    }

    fn default_selector(&self) -> Result<Selector> {
        self.source()?.default_selector()
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        self.source()?.get_manifest(selector)
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.target()?.put_child_manifest(manifest)
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        self.target()?.put_manifest(manifest, tag)
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        self.layout()?.blob_size(digest)
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn io::Read + Send>> {
        self.source()?.get_blob(descriptor)
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn io::Read) -> Result<()> {
        self.target()?.put_blob(descriptor, content)
    }

    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn io::Read) -> Result<()> {
        self.target()?.put_verified_blob(descriptor, content)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// skopeo and umoci read only OCI manifests from a layout.
    fn oci_only(&self) -> bool {
        true
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        self.source()?.list_tags()
    }

    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        self.source()?.referrers(subject, artifact_type)
    }

    fn put_referrer(&self, manifest: &Manifest) -> Result<()> {
        self.target()?.put_referrer(manifest)
    }

    /// Removes the image from the archive, which is rewritten at once.
    fn delete(&self, selector: &Selector) -> Result<()> {
        let layout = self.source()?;
        layout.delete(selector)?;
        self.write(&layout)
    }

    /// Writes the archive when anything was added to it.
    fn finalize(&self) -> Result<()> {
        let layout = self.layout()?;
        layout.finalize()?;
        if self.changed.swap(false, Ordering::SeqCst) {
            self.write(&layout)?;
        }
        Ok(())
    }

    /// Drops what the failed copy added; the archive itself was not touched.
    fn abort(&self) {
        if let Ok(layout) = self.layout() {
            layout.abort();
        }
        self.changed.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_layout_files_are_unpacked() {
        assert!(is_layout_file("oci-layout"));
        assert!(is_layout_file("blobs/sha256/abc123"));
        assert!(!is_layout_file("blobs/sha256/../x"));
        assert!(!is_layout_file("etc/passwd"));
        assert!(!is_layout_file("blobs/sha256"));
    }

    #[test]
    fn parse_forms() {
        assert_eq!(
            parse("/a.tar:v1").unwrap().to_string(),
            "oci-archive:/a.tar:v1"
        );
        assert_eq!(
            parse("/a.tar:@0").unwrap().selector(),
            Some(&Selector::Index(0))
        );
        assert!(parse("").is_err());
        assert!(parse("/a.tar:-bad").is_err());
    }
}

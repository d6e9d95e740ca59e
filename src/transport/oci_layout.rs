//! The `oci:PATH[:TAG]` transport: an OCI image layout directory (`oci-layout`,
//! `index.json`, `blobs/`), with tags in `org.opencontainers.image.ref.name`.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::layout_files::{read_capped, verified_blob, write_atomically, CreatedRoot};
use super::{ImageRef, Selector, Transport};
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{ImageIndex, Manifest, ManifestContent, MANIFEST_SIZE_MAX};
use crate::media_types;
use crate::store::{FsStore, Store};

/// The annotation holding an index entry's tag.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const INDEX_FILE: &str = "index.json";

/// An OCI image layout directory.
pub struct OciLayout {
    root: PathBuf,
    store: FsStore,
    index_lock: Mutex<()>,
    init_lock: Mutex<()>,
    /// The directories this handle created for its root, removed by `abort`.
    created: CreatedRoot,
    /// Blobs this handle wrote that were not there before, until `finalize`.
    written: Mutex<Vec<Digest>>,
    /// What messages call the layout, when not `oci:ROOT` (an archive's
    /// unpacked layout is called by the archive's name).
    shown_as: Option<String>,
}

/// Parses the part after `oci:`: `PATH[:TAG]`.
pub(super) fn parse(rest: &str) -> Result<ImageRef> {
    let (path, tag) = super::split_location(
        rest,
        "oci: needs a directory, as in oci:/images/app or oci:/images/app:1.0",
    )?;
    let selector = tag.map(selector_of).transpose()?;
    Ok(ImageRef::new(Arc::new(OciLayout::new(path)), selector))
}

/// The selector a layout reference names after its path: `TAG` or `@INDEX`.
pub(super) fn selector_of(tag: &str) -> Result<Selector> {
    match tag.strip_prefix('@') {
        Some(n) => n.parse().map(Selector::Index).map_err(|_| {
            Error::invalid(format!(
                "{tag:?} is not @N, the position of an image in the layout (from 0)"
            ))
        }),
        None => {
            validate_ref_name(tag)?;
            Ok(Selector::Tag(tag.to_owned()))
        }
    }
}

/// Checks a tag against the grammar of `org.opencontainers.image.ref.name`:
/// components of letters and digits joined by `-._:@+` or `--`, separated by `/`.
fn validate_ref_name(tag: &str) -> Result<()> {
    let valid_component = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|&x| x.is_ascii_alphanumeric() || b"-._:@+".contains(&x))
            && !b.windows(2).any(|w| {
                !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric() && w != b"--"
            })
    };
    if tag.split('/').all(valid_component) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid tag {tag:?} for an OCI layout: use letters and digits joined by '-', '.', '_', ':', '@', '+' or '/'"
        )))
    }
}

impl OciLayout {
    /// The layout at `root` (read lazily; created on first write).
    pub fn new(root: impl Into<PathBuf>) -> OciLayout {
        let root = root.into();
        OciLayout::with_store(FsStore::new(&root), root)
    }

    /// A layout at `root` whose blobs are written to be read back soon (an
    /// archive's unpacked content): see [`FsStore::cached`].
    pub fn cached(root: impl Into<PathBuf>) -> OciLayout {
        let root = root.into();
        OciLayout::with_store(FsStore::new(&root).cached(), root)
    }

    fn with_store(store: FsStore, root: PathBuf) -> OciLayout {
        OciLayout {
            store,
            root,
            index_lock: Mutex::new(()),
            init_lock: Mutex::new(()),
            created: CreatedRoot::default(),
            written: Mutex::new(Vec::new()),
            shown_as: None,
        }
    }

    /// The same layout, called `name` in messages (and as its
    /// [`Transport::name`]): for a layout that stands in for something the
    /// user named, such as an archive unpacked into a private directory.
    pub(super) fn shown_as(self, name: String) -> OciLayout {
        OciLayout {
            shown_as: Some(name),
            ..self
        }
    }

    /// The layout's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, file: &str) -> PathBuf {
        self.root.join(file)
    }

    /// The layout file `file` as messages name it: its path, or "FILE in
    /// NAME" for a layout [`shown_as`](Self::shown_as) another name.
    fn file_shown(&self, file: &str) -> String {
        match &self.shown_as {
            Some(name) => format!("{file} in {name}"),
            None => self.path(file).display().to_string(),
        }
    }

    fn read_index(&self) -> Result<ImageIndex> {
        let layout_path = self.path(LAYOUT_FILE);
        let layout = fs::read(&layout_path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::not_found(format!(
                "no OCI layout at {}: {} is missing",
                self.root.display(),
                layout_path.display()
            )),
            _ => Error::io(format!("reading {}", layout_path.display()), e),
        })?;
        let version = serde_json::from_slice::<serde_json::Value>(&layout)
            .ok()
            .and_then(|v| v.get("imageLayoutVersion")?.as_str().map(str::to_owned));
        if version.as_deref() != Some("1.0.0") {
            return Err(Error::invalid(format!(
                "{} does not declare imageLayoutVersion 1.0.0",
                self.file_shown(LAYOUT_FILE)
            )));
        }
        let index_path = self.path(INDEX_FILE);
        let bytes = read_capped(&index_path, MANIFEST_SIZE_MAX)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!(
                "{} is not a valid OCI image index: {e}",
                self.file_shown(INDEX_FILE)
            ))
        })
    }

    /// Creates the layout's skeleton if it does not exist yet. A directory
    /// that exists and holds anything but layout parts is refused. Safe when
    /// several threads or processes start writing a new layout at once:
    /// `oci-layout`, written last, marks it complete.
    fn ensure_layout(&self) -> Result<()> {
        if self.path(LAYOUT_FILE).exists() {
            return Ok(());
        }
        let _init = self.init_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.path(LAYOUT_FILE).exists() {
            return Ok(());
        }
        match self.created.create(&self.root) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let entries = fs::read_dir(&self.root)
                    .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?;
                for entry in entries {
                    let name = entry
                        .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?
                        .file_name();
                    let name = name.to_string_lossy();
                    if !(name == INDEX_FILE || name == "blobs" || name.starts_with(".stevedore-")) {
                        return Err(Error::invalid(format!(
                            "{} exists and is not an OCI layout (it has no {LAYOUT_FILE} file, \
                             and holds {name:?}); choose an empty or new directory",
                            self.root.display()
                        )));
                    }
                }
            }
            Err(e) => return Err(Error::io(format!("creating {}", self.root.display()), e)),
        }
        if !self.path(INDEX_FILE).exists() {
            let empty = ImageIndex::oci(Vec::new());
            self.write_index(&empty)?;
        }
        write_atomically(&self.root, &self.path(LAYOUT_FILE), LAYOUT_CONTENT)
    }

    fn write_index(&self, index: &ImageIndex) -> Result<()> {
        let bytes = serde_json::to_vec(index)
            .map_err(|e| Error::invalid(format!("cannot serialise index.json: {e}")))?;
        write_atomically(&self.root, &self.path(INDEX_FILE), &bytes)
    }

    /// Runs `change` on index.json under a lock that excludes other threads and
    /// other processes; writes the result atomically when `change` says it
    /// changed the index.
    fn update_index(&self, change: impl FnOnce(&mut ImageIndex) -> Result<bool>) -> Result<()> {
        let _thread = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let lock_path = self.path(LAYOUT_FILE);
        let lock = File::open(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        lock.lock()
            .map_err(|e| Error::io(format!("locking {}", lock_path.display()), e))?;
        let mut index = self.read_index()?;
        if change(&mut index)? {
            self.write_index(&index)?;
        }
        Ok(())
    }

    /// Stores a blob (hashing it unless `content` verifies itself) and
    /// remembers it when it is new, for `abort`.
    fn put_recorded(
        &self,
        digest: &Digest,
        size: u64,
        content: &mut dyn Read,
        verified: bool,
    ) -> Result<()> {
        self.ensure_layout()?;
        if self.store.stat(digest)?.is_some() {
            return Ok(());
        }
        if verified {
            self.store.put_verified(digest, size, content)?;
        } else {
            self.store.put(digest, Some(size), content)?;
        }
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(digest.clone());
        Ok(())
    }

    fn entries_for(&self, selector: &Selector) -> Result<Vec<Descriptor>> {
        let index = self.read_index()?;
        Ok(index
            .manifests
            .into_iter()
            .enumerate()
            .filter(|(i, d)| entry_matches(*i, d, selector))
            .map(|(_, d)| d)
            .collect())
    }

    fn read_manifest(&self, digest: &Digest, declared: Option<&str>) -> Result<Manifest> {
        let raw = read_capped(&self.store.blob_path(digest), MANIFEST_SIZE_MAX).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(format!("manifest {digest} is missing from {}", self.name()))
            } else {
                e
            }
        })?;
        Manifest::from_bytes_verified(raw, declared, digest)
            .map_err(|e| e.context(format!("{} holds a bad manifest", self.name())))
    }

    /// The digests of `entries` and of everything they reference.
    fn reachable(&self, entries: &[Descriptor]) -> Result<HashSet<Digest>> {
        let mut seen = HashSet::new();
        let mut stack: Vec<Descriptor> = entries.to_vec();
        while let Some(d) = stack.pop() {
            if !seen.insert(d.digest.clone()) {
                continue;
            }
            if media_types::is_index(&d.media_type) || media_types::is_image_manifest(&d.media_type)
            {
                let manifest = self.read_manifest(&d.digest, Some(&d.media_type))?;
                match manifest.content() {
                    ManifestContent::Index(i) => stack.extend(i.manifests.iter().cloned()),
                    ManifestContent::Image(m) => {
                        stack.push(m.config.clone());
                        stack.extend(m.layers.iter().cloned());
                    }
                }
            }
        }
        Ok(seen)
    }
}

/// Whether index entry number `position`, `d`, is what `selector` names.
fn entry_matches(position: usize, d: &Descriptor, selector: &Selector) -> bool {
    match selector {
        Selector::Tag(t) => d.annotations.get(REF_NAME) == Some(t),
        Selector::Digest(digest) => &d.digest == digest,
        Selector::Index(n) => position == *n,
    }
}

impl Transport for OciLayout {
    fn name(&self) -> String {
        match &self.shown_as {
            Some(name) => name.clone(),
            None => format!("oci:{}", self.root.display()),
        }
    }

    fn default_selector(&self) -> Result<Selector> {
        let index = self.read_index()?;
        match index.manifests.as_slice() {
            [only] => Ok(Selector::Digest(only.digest.clone())),
            [] => Err(Error::not_found(format!("{} holds no image", self.name()))),
            many => Err(Error::invalid(format!(
                "{} holds {} images; name one as {}:TAG (tags: {})",
                self.name(),
                many.len(),
                self.name(),
                self.list_tags()?.join(", ")
            ))),
        }
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        let entries = self.entries_for(selector)?;
        let digest = match (selector, entries.as_slice()) {
            (Selector::Digest(d), _) => d,
            (Selector::Tag(_), [one]) | (Selector::Index(_), [one, ..]) => &one.digest,
            (Selector::Index(n), []) => {
                return Err(Error::not_found(format!(
                    "{} has no image @{n}: it holds {} (counting from 0)",
                    self.name(),
                    self.read_index()?.manifests.len()
                )))
            }
            (Selector::Tag(t), []) => {
                return Err(Error::not_found(format!(
                    "{} has no image tagged {t:?} (tags: {})",
                    self.name(),
                    self.list_tags()?.join(", ")
                )))
            }
            (Selector::Tag(t), _) => {
                return Err(Error::invalid(format!(
                    "{} has several entries tagged {t:?}; its index.json is ambiguous",
                    self.name()
                )))
            }
        };
        let declared = entries.first();
        let manifest = self.read_manifest(digest, declared.map(|d| d.media_type.as_str()))?;
        if let Some(entry) = declared {
            if entry.size != manifest.raw().len() as u64 {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!(
                        "manifest {} in {} has {} bytes, but index.json says {}",
                        entry.digest,
                        self.name(),
                        manifest.raw().len(),
                        entry.size
                    ),
                ));
            }
        }
        Ok(manifest)
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.ensure_layout()?;
        self.store
            .put(
                manifest.digest(),
                Some(manifest.raw().len() as u64),
                &mut manifest.raw(),
            )
            .map(drop)
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        if let Some(tag) = tag {
            validate_ref_name(tag)?;
        }
        self.put_child_manifest(manifest)?;
        self.update_index(|index| {
            let mut entry = manifest.descriptor();
            match tag {
                Some(tag) => {
                    index
                        .manifests
                        .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(tag));
                    entry
                        .annotations
                        .insert(REF_NAME.to_owned(), tag.to_owned());
                }
                None => index
                    .manifests
                    .retain(|d| d.digest != entry.digest || d.annotations.contains_key(REF_NAME)),
            }
            index.manifests.push(entry);
            Ok(true)
        })
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        self.store.stat(digest)
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        verified_blob(&self.store, &self.name(), descriptor)
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.put_recorded(&descriptor.digest, descriptor.size, content, false)
            .map_err(|e| e.context(format!("writing into {}", self.name())))
    }

    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.put_recorded(&descriptor.digest, descriptor.size, content, true)
            .map_err(|e| e.context(format!("writing into {}", self.name())))
    }

    /// Found by reading the manifests index.json lists (a referrer is stored
    /// as an untagged entry there, as oras and others do).
    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        let mut out: Vec<Descriptor> = Vec::new();
        for entry in self.read_index()?.manifests {
            if !media_types::is_image_manifest(&entry.media_type)
                && !media_types::is_index(&entry.media_type)
            {
                continue;
            }
            let manifest = self.read_manifest(&entry.digest, Some(&entry.media_type))?;
            if manifest.subject().map(|s| &s.digest) != Some(subject) {
                continue;
            }
            let found = manifest.referrer_descriptor();
            let wanted = artifact_type.is_none_or(|t| found.artifact_type.as_deref() == Some(t));
            if wanted && !out.iter().any(|d| d.digest == found.digest) {
                out.push(found);
            }
        }
        Ok(out)
    }

    fn put_referrer(&self, manifest: &Manifest) -> Result<()> {
        self.put_manifest(manifest, None)
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        let mut tags: Vec<String> = Vec::new();
        for entry in self.read_index()?.manifests {
            if let Some(tag) = entry.annotations.get(REF_NAME) {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
        }
        Ok(tags)
    }

    /// Removes the index entries `selector` names, then the blobs only they
    /// referenced.
    fn delete(&self, selector: &Selector) -> Result<()> {
        let mut removed = Vec::new();
        let mut kept = Vec::new();
        self.update_index(|index| {
            let (gone, stay): (Vec<_>, Vec<_>) = index
                .manifests
                .drain(..)
                .enumerate()
                .partition(|(i, d)| entry_matches(*i, d, selector));
            let gone: Vec<Descriptor> = gone.into_iter().map(|(_, d)| d).collect();
            let stay: Vec<Descriptor> = stay.into_iter().map(|(_, d)| d).collect();
            if gone.is_empty() {
                return Err(Error::not_found(format!(
                    "{} has no {selector}",
                    self.name()
                )));
            }
            index.manifests = stay.clone();
            removed = gone;
            kept = stay;
            Ok(true)
        })?;
        let still_used = self.reachable(&kept)?;
        let unused = self.reachable(&removed)?;
        for digest in unused.difference(&still_used) {
            match self.store.delete(digest) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// skopeo and umoci read only OCI manifests from a layout.
    fn oci_only(&self) -> bool {
        true
    }

    fn finalize(&self) -> Result<()> {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    /// Removes a layout this handle created (and the parent directories it
    /// created for it); in a layout that existed, removes
    /// the blobs this handle added that no index entry references. (A copy into
    /// the same layout from another process that reuses such a blob before
    /// tagging it can lose it; one writer per layout is the safe use.)
    fn abort(&self) {
        let written = std::mem::take(&mut *self.written.lock().unwrap_or_else(|p| p.into_inner()));
        if self.created.remove() {
            return;
        }
        let _ = self.update_index(|index| {
            let referenced = self.reachable(&index.manifests)?;
            for digest in written.iter().filter(|d| !referenced.contains(d)) {
                let _ = self.store.delete(digest);
            }
            Ok(false)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names() {
        for good in [
            "latest",
            "1.0",
            "v1.2.3-rc1",
            "a/b",
            "x:y",
            "a--b",
            "A_b+c@d",
        ] {
            validate_ref_name(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in ["", "-a", "a-", "a..b", "a//b", "/a", "a b", "a/"] {
            assert!(validate_ref_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_forms() {
        assert_eq!(parse("/x:t").unwrap().to_string(), "oci:/x:t");
        assert_eq!(parse("rel/dir").unwrap().to_string(), "oci:rel/dir");
        assert!(parse("").is_err());
        assert!(parse("/x:").is_err());
        assert_eq!(
            parse("/x:@2").unwrap().selector(),
            Some(&Selector::Index(2))
        );
        assert!(parse("/x:@two").is_err());
    }
}

//! The `docker-archive:PATH[:NAME:TAG|:@N]` transport: the tarball of
//! `docker save` — `manifest.json` listing each image's config and layer
//! files and its tags, and `repositories`.
//!
//! Reading, an image's manifest comes from the OCI layout the archive carries
//! beside `manifest.json` (as `docker save` does since Docker 25, and as
//! Stevedore writes), so its digest is kept; an archive without one gets the
//! manifest skopeo builds for it (Docker schema 2, layers uncompressed), so
//! both tools agree on its digest. Gzip-compressed layer files are read
//! uncompressed, as skopeo and `docker load` read them.
//!
//! Writing, blobs are stored as they are under `blobs/ALGORITHM/HEX`, with
//! `manifest.json`, `repositories`, `index.json` and `oci-layout`. The archive
//! appears whole when the copy finishes; until then `PATH` is untouched.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::layout_files::{write_archive, ArchiveFile};
use super::tar_index::TarIndex;
use super::{ImageRef, Selector, Transport};
use crate::config::{ImageConfig, CONFIG_SIZE_MAX};
use crate::descriptor::Descriptor;
use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::manifest::{ImageIndex, ImageManifest, Manifest, ManifestContent, MANIFEST_SIZE_MAX};
use crate::media_types::{self, Compression};
use crate::platform::Platform;
use crate::reference::{Reference, DEFAULT_TAG};
use crate::store::{FsStore, Store};

const MANIFEST_FILE: &str = "manifest.json";
const INDEX_FILE: &str = "index.json";
/// The annotation with which Docker and containerd name an image in `index.json`.
const IMAGE_NAME: &str = "io.containerd.image.name";

/// One image of `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Item {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

impl Item {
    /// Whether the item carries `reference` (normalised) among its tags.
    fn has_tag(&self, reference: &Reference) -> bool {
        self.repo_tags
            .iter()
            .flatten()
            .any(|t| Reference::parse(t).ok().as_ref() == Some(reference))
    }
}

/// Where a blob read from the archive lives in it.
#[derive(Debug, Clone)]
struct ArchivedBlob {
    file: String,
    gzip: bool,
    size: u64,
}

/// What this handle has written, until the archive is complete.
struct Staging {
    dir: tempfile::TempDir,
    store: FsStore,
    manifests: HashMap<Digest, Manifest>,
    images: Vec<(Manifest, Option<Reference>)>,
}

/// A `docker save` tarball.
pub struct DockerArchive {
    path: PathBuf,
    source: Mutex<Option<Arc<TarIndex>>>,
    blobs: Mutex<HashMap<Digest, ArchivedBlob>>,
    manifests: Mutex<HashMap<Digest, Manifest>>,
    staging: Mutex<Option<Staging>>,
}

/// Parses the part after `docker-archive:`: `PATH`, `PATH:NAME[:TAG]` or
/// `PATH:@INDEX`.
pub(super) fn parse(rest: &str) -> Result<ImageRef> {
    let (path, spec) = super::split_location(
        rest,
        "docker-archive: needs a file, as in docker-archive:/images/app.tar or \
             docker-archive:/images/app.tar:app:1.0",
    )?;
    let selector = match spec {
        None => None,
        Some(spec) => Some(match spec.strip_prefix('@') {
            Some(n) => Selector::Index(n.parse().map_err(|_| {
                Error::invalid(format!(
                    "{spec:?} is not @N, the position of an image in the archive (from 0)"
                ))
            })?),
            None => Selector::Tag(tag_reference(spec)?.to_string()),
        }),
    };
    Ok(ImageRef::new(Arc::new(DockerArchive::new(path)), selector))
}

/// The normalised `NAME:TAG` an archive names an image by (`latest` when no
/// tag is given); a digest is refused.
fn tag_reference(spec: &str) -> Result<Reference> {
    let reference = Reference::parse(spec)
        .map_err(|e| e.context("a docker-archive image is named NAME:TAG"))?;
    if reference.digest().is_some() {
        return Err(Error::invalid(format!(
            "{spec:?}: a docker-archive image is named NAME:TAG, not by digest"
        )));
    }
    match reference.tag() {
        Some(_) => Ok(reference),
        None => reference.with_tag(DEFAULT_TAG),
    }
}

/// Where the OCI layout inside an archive keeps the blob `digest`.
fn layout_file(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().as_str(), digest.hex())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl DockerArchive {
    /// The archive at `path` (read lazily; written when a copy into it finishes).
    pub fn new(path: impl Into<PathBuf>) -> DockerArchive {
        DockerArchive {
            path: path.into(),
            source: Mutex::new(None),
            blobs: Mutex::new(HashMap::new()),
            manifests: Mutex::new(HashMap::new()),
            staging: Mutex::new(None),
        }
    }

    fn tar(&self) -> Result<Arc<TarIndex>> {
        let mut source = lock(&self.source);
        if let Some(tar) = source.as_ref() {
            return Ok(Arc::clone(tar));
        }
        let tar = Arc::new(TarIndex::open(&self.path)?);
        *source = Some(Arc::clone(&tar));
        Ok(tar)
    }

    fn items(&self, tar: &TarIndex) -> Result<Vec<Item>> {
        if !tar.contains(MANIFEST_FILE) {
            return Err(Error::invalid(format!(
                "{} is not a docker-archive: it has no {MANIFEST_FILE}",
                self.path.display()
            )));
        }
        let bytes = tar.read_small(MANIFEST_FILE, MANIFEST_SIZE_MAX)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!(
                "{MANIFEST_FILE} in {} is not a docker-archive manifest: {e}",
                self.path.display()
            ))
        })
    }

    fn tags_of(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .flat_map(|i| i.repo_tags.iter().flatten().cloned())
            .collect()
    }

    fn item(&self, tar: &TarIndex, selector: &Selector) -> Result<Item> {
        let items = self.items(tar)?;
        let found = match selector {
            Selector::Index(n) => items.get(*n),
            Selector::Tag(t) => {
                let wanted = Reference::parse(t)?;
                items.iter().find(|i| i.has_tag(&wanted))
            }
            Selector::Digest(_) => None,
        };
        found.cloned().ok_or_else(|| {
            Error::not_found(format!(
                "{} has no {selector}: it holds {} image(s) (tags: {})",
                self.name(),
                items.len(),
                Self::tags_of(&items).join(", ")
            ))
        })
    }

    fn remember(&self, manifest: &Manifest) {
        lock(&self.manifests).insert(manifest.digest().clone(), manifest.clone());
    }

    /// The manifest of `item`: the original one from the archive's OCI
    /// layout when it has one for the item, else the one skopeo builds.
    fn image_manifest(&self, tar: &TarIndex, item: &Item) -> Result<Manifest> {
        let manifest = match self.embedded(tar, item)? {
            Some(manifest) => manifest,
            None => self.rebuilt(tar, item)?,
        };
        self.remember(&manifest);
        Ok(manifest)
    }

    /// The manifest the archive's `index.json` holds for `item`: the image
    /// manifest whose config and layers are the item's files.
    fn embedded(&self, tar: &TarIndex, item: &Item) -> Result<Option<Manifest>> {
        if !tar.contains(INDEX_FILE) {
            return Ok(None);
        }
        let Ok(index) =
            serde_json::from_slice::<ImageIndex>(&tar.read_small(INDEX_FILE, MANIFEST_SIZE_MAX)?)
        else {
            return Ok(None);
        };
        let mut stack = index.manifests;
        let mut seen = HashSet::new();
        while let Some(entry) = stack.pop() {
            let file = layout_file(&entry.digest);
            if !seen.insert(entry.digest.clone()) || !tar.contains(&file) {
                continue;
            }
            let manifest = Manifest::from_bytes_verified(
                tar.read_small(&file, MANIFEST_SIZE_MAX)?,
                Some(&entry.media_type),
                &entry.digest,
            )
            .map_err(|e| e.context(format!("{} holds a bad manifest", self.name())))?;
            match manifest.content() {
                ManifestContent::Index(index) => stack.extend(index.manifests.iter().cloned()),
                ManifestContent::Image(image) if Self::describes(image, item) => {
                    let mut blobs = lock(&self.blobs);
                    // A foreign layer the archive does not hold stays absent.
                    for blob in manifest.blobs() {
                        if !tar.contains(&layout_file(&blob.digest)) {
                            continue;
                        }
                        blobs.insert(
                            blob.digest.clone(),
                            ArchivedBlob {
                                file: layout_file(&blob.digest),
                                gzip: false,
                                size: blob.size,
                            },
                        );
                    }
                    return Ok(Some(manifest));
                }
                ManifestContent::Image(_) => {}
            }
        }
        Ok(None)
    }

    /// Whether `image` has exactly the config and layer files of `item`.
    fn describes(image: &ImageManifest, item: &Item) -> bool {
        item.config == layout_file(&image.config.digest)
            && item.layers.len() == image.layers.len()
            && item
                .layers
                .iter()
                .zip(&image.layers)
                .all(|(file, layer)| *file == layout_file(&layer.digest))
    }

    /// The manifest built for an item that came without one (a legacy
    /// `docker save`): Docker schema 2 as skopeo builds it, the config file
    /// as config, each layer served uncompressed with its diff ID as digest,
    /// serialised as Go does; but each layer labelled for the bytes served
    /// ([`media_types::layer_type`]: `diff.tar`, where skopeo says
    /// `tar.gzip` and compresses only when it pushes).
    fn rebuilt(&self, tar: &TarIndex, item: &Item) -> Result<Manifest> {
        let config = tar.read_small(&item.config, CONFIG_SIZE_MAX)?;
        let config_digest = Digest::sha256(&config);
        let diff_ids = ImageConfig::from_bytes(&config)
            .map_err(|e| e.context(format!("{} in {}", item.config, self.name())))?
            .rootfs
            .map(|r| r.diff_ids)
            .unwrap_or_default();
        if diff_ids.len() != item.layers.len() {
            return Err(Error::invalid(format!(
                "{} lists {} layer files for {}, but its config has {} diff IDs",
                self.name(),
                item.layers.len(),
                item.config,
                diff_ids.len()
            )));
        }
        let mut blobs = vec![(
            config_digest.clone(),
            ArchivedBlob {
                file: item.config.clone(),
                gzip: false,
                size: config.len() as u64,
            },
        )];
        let mut layers = Vec::new();
        for (file, diff_id) in item.layers.iter().zip(&diff_ids) {
            let digest: Digest = diff_id
                .parse()
                .map_err(|e: Error| e.context(format!("diff ID of {file} in {}", self.name())))?;
            let blob = self.layer_file(tar, file)?;
            // A gzip file is served decompressed: the bytes are a plain tar.
            let served = media_types::layer_type(Compression::None, true)?;
            layers.push(json!({
                "mediaType": served,
                "size": blob.size,
                "digest": digest.to_string(),
            }));
            blobs.push((digest, blob));
        }
        let raw = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": media_types::DOCKER_MANIFEST,
            "config": {
                "mediaType": media_types::DOCKER_CONFIG,
                "size": config.len(),
                "digest": config_digest.to_string(),
            },
            "layers": layers,
        }))
        .map_err(|e| Error::invalid(format!("cannot serialise a manifest: {e}")))?;
        lock(&self.blobs).extend(blobs);
        Manifest::from_bytes(raw, Some(media_types::DOCKER_MANIFEST))
    }

    /// A layer file as read uncompressed: its compression and uncompressed size.
    fn layer_file(&self, tar: &TarIndex, file: &str) -> Result<ArchivedBlob> {
        let fail = |e: io::Error| {
            Error::invalid(format!(
                "layer {file} in {} cannot be read: {e}",
                self.name()
            ))
        };
        let mut start = Vec::with_capacity(Compression::MAGIC_LEN);
        tar.reader(file)?
            .take(Compression::MAGIC_LEN as u64)
            .read_to_end(&mut start)
            .map_err(fail)?;
        match Compression::sniff(&start) {
            Compression::None => Ok(ArchivedBlob {
                file: file.to_owned(),
                gzip: false,
                size: tar.size(file).unwrap_or_default(),
            }),
            Compression::Gzip => {
                let size = io::copy(&mut MultiGzDecoder::new(tar.reader(file)?), &mut io::sink())
                    .map_err(fail)?;
                Ok(ArchivedBlob {
                    file: file.to_owned(),
                    gzip: true,
                    size,
                })
            }
            other => Err(Error::unsupported(format!(
                "layer {file} in {} is {other:?}-compressed; only gzip and uncompressed layers \
                 are read from a docker-archive",
                self.name()
            ))),
        }
    }

    /// Runs `f` on what this handle has staged, creating the staging
    /// directory (beside `PATH`, so the archive can be renamed into place) on
    /// first use.
    fn with_staging<R>(&self, f: impl FnOnce(&mut Staging) -> Result<R>) -> Result<R> {
        let mut guard = lock(&self.staging);
        let staging = match guard.as_mut() {
            Some(staging) => staging,
            None => {
                let parent = match self.path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                let dir = tempfile::Builder::new()
                    .prefix(".stevedore-")
                    .tempdir_in(parent)
                    .map_err(|e| {
                        Error::io(
                            format!("creating a staging directory in {}", parent.display()),
                            e,
                        )
                    })?;
                guard.insert(Staging {
                    store: FsStore::new(dir.path()).cached(),
                    dir,
                    manifests: HashMap::new(),
                    images: Vec::new(),
                })
            }
        };
        f(staging)
    }

    fn stage_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.with_staging(|staging| {
            staging.store.put(
                manifest.digest(),
                Some(manifest.raw().len() as u64),
                &mut manifest.raw(),
            )?;
            staging
                .manifests
                .insert(manifest.digest().clone(), manifest.clone());
            Ok(())
        })
    }

    /// Writes the archive of every image staged so far.
    fn write(&self, staging: &Staging) -> Result<()> {
        let mut items: Vec<Item> = Vec::new();
        let mut files: Vec<(String, ArchiveFile)> = Vec::new();
        let mut written: HashSet<Digest> = HashSet::new();
        let mut index = ImageIndex::oci(Vec::new());
        let mut repositories = serde_json::Map::new();
        let mut stage = |digest: &Digest, files: &mut Vec<(String, ArchiveFile)>| {
            if written.insert(digest.clone()) {
                files.push((
                    layout_file(digest),
                    ArchiveFile::Copy(staging.store.blob_path(digest)),
                ));
            }
        };
        for (root, tag) in &staging.images {
            let images = images_of(root, &staging.manifests)?;
            let tagged = tagged_image(root, &images);
            for (position, image) in images.iter().enumerate() {
                let ManifestContent::Image(content) = image.content() else {
                    continue;
                };
                stage(image.digest(), &mut files);
                for blob in image.blobs() {
                    // A foreign layer the copy left at its `urls` has no file.
                    if media_types::is_foreign_layer(&blob.media_type)
                        && staging.store.stat(&blob.digest)?.is_none()
                    {
                        continue;
                    }
                    stage(&blob.digest, &mut files);
                }
                let tags: Vec<String> = match tag {
                    Some(reference) if position == tagged => vec![reference.familiar()],
                    _ => Vec::new(),
                };
                if let (Some(reference), Some(top)) = (tag, content.layers.last()) {
                    if position == tagged {
                        let name = Reference::parse(&reference.name())?.familiar();
                        let entry = repositories.entry(name).or_insert_with(|| json!({}));
                        entry[reference.tag().unwrap_or(DEFAULT_TAG)] = json!(top.digest.hex());
                    }
                }
                items.push(Item {
                    config: layout_file(&content.config.digest),
                    repo_tags: Some(tags),
                    layers: content
                        .layers
                        .iter()
                        .map(|l| layout_file(&l.digest))
                        .collect(),
                });
            }
            stage(root.digest(), &mut files);
            let mut entry = root.descriptor();
            if let Some(reference) = tag {
                entry
                    .annotations
                    .insert(IMAGE_NAME.to_owned(), reference.to_string());
                entry.annotations.insert(
                    super::oci_layout::REF_NAME.to_owned(),
                    reference.tag().unwrap_or(DEFAULT_TAG).to_owned(),
                );
            }
            index.manifests.push(entry);
        }
        files.push((
            MANIFEST_FILE.to_owned(),
            ArchiveFile::Bytes(json_bytes(&items)?),
        ));
        files.push((
            "repositories".to_owned(),
            ArchiveFile::Bytes(json_bytes(&repositories)?),
        ));
        files.push((
            INDEX_FILE.to_owned(),
            ArchiveFile::Bytes(json_bytes(&index)?),
        ));
        files.push((
            "oci-layout".to_owned(),
            ArchiveFile::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ));
        write_archive(&self.path, &files)
    }
}

/// The image manifests `root` stands for: itself, or the images its index
/// lists (through nested indexes), each once.
fn images_of(root: &Manifest, manifests: &HashMap<Digest, Manifest>) -> Result<Vec<Manifest>> {
    let mut out: Vec<Manifest> = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(manifest) = stack.pop() {
        match manifest.content() {
            ManifestContent::Image(_) => {
                if !out.iter().any(|m| m.digest() == manifest.digest()) {
                    out.push(manifest);
                }
            }
            ManifestContent::Index(index) => {
                for entry in index.manifests.iter().rev() {
                    let child = manifests.get(&entry.digest).ok_or_else(|| {
                        Error::not_found(format!(
                            "manifest {} of index {} was not written",
                            entry.digest,
                            manifest.digest()
                        ))
                    })?;
                    stack.push(child.clone());
                }
            }
        }
    }
    Ok(out)
}

/// Which of `images` (standing for `root`) carries the tag: the host's
/// platform when `root` is an index that has it, else the first.
fn tagged_image(root: &Manifest, images: &[Manifest]) -> usize {
    let ManifestContent::Index(index) = root.content() else {
        return 0;
    };
    Platform::host()
        .choose(&index.manifests)
        .ok()
        .and_then(|entry| images.iter().position(|m| *m.digest() == entry.digest))
        .unwrap_or(0)
}

/// The compact JSON of one of the archive's files.
fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Error::invalid(format!("cannot serialise an archive file: {e}")))
}

impl Transport for DockerArchive {
    fn name(&self) -> String {
        format!("docker-archive:{}", self.path.display())
    }

    fn default_selector(&self) -> Result<Selector> {
        let tar = self.tar()?;
        let items = self.items(&tar)?;
        match items.len() {
            1 => Ok(Selector::Index(0)),
            0 => Err(Error::not_found(format!("{} holds no image", self.name()))),
            n => Err(Error::invalid(format!(
                "{} holds {n} images; name one as {}:NAME:TAG or {}:@N (tags: {})",
                self.name(),
                self.name(),
                self.name(),
                Self::tags_of(&items).join(", ")
            ))),
        }
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        let tar = self.tar()?;
        let Selector::Digest(digest) = selector else {
            let item = self.item(&tar, selector)?;
            return self.image_manifest(&tar, &item);
        };
        if let Some(manifest) = lock(&self.manifests).get(digest) {
            return Ok(manifest.clone());
        }
        let file = layout_file(digest);
        if tar.contains(&file) {
            let manifest = Manifest::from_bytes_verified(
                tar.read_small(&file, MANIFEST_SIZE_MAX)?,
                None,
                digest,
            )?;
            self.remember(&manifest);
            return Ok(manifest);
        }
        for item in self.items(&tar)? {
            let manifest = self.image_manifest(&tar, &item)?;
            if manifest.digest() == digest {
                return Ok(manifest);
            }
        }
        Err(Error::not_found(format!(
            "{} has no manifest {digest}",
            self.name()
        )))
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.stage_manifest(manifest)
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        let tag = tag.map(tag_reference).transpose()?;
        self.stage_manifest(manifest)?;
        self.with_staging(|staging| {
            if let Some(tag) = &tag {
                for (_, earlier) in staging.images.iter_mut() {
                    if earlier.as_ref() == Some(tag) {
                        *earlier = None;
                    }
                }
            }
            staging.images.push((manifest.clone(), tag));
            Ok(())
        })
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        if let Some(staging) = lock(&self.staging).as_ref() {
            if let Some(size) = staging.store.stat(digest)? {
                return Ok(Some(size));
            }
        }
        if let Some(blob) = lock(&self.blobs).get(digest) {
            return Ok(Some(blob.size));
        }
        match lock(&self.source).as_ref() {
            Some(tar) => Ok(tar.size(&layout_file(digest))),
            None => Ok(None),
        }
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let tar = self.tar()?;
        let blob = lock(&self.blobs)
            .get(&descriptor.digest)
            .cloned()
            .or_else(|| {
                let file = layout_file(&descriptor.digest);
                tar.size(&file).map(|size| ArchivedBlob {
                    file,
                    gzip: false,
                    size,
                })
            })
            .ok_or_else(|| {
                Error::not_found(format!(
                    "blob {} is missing from {}",
                    descriptor.digest,
                    self.name()
                ))
            })?;
        let section = tar.reader(&blob.file)?;
        let content: Box<dyn Read + Send> = if blob.gzip {
            Box::new(MultiGzDecoder::new(section))
        } else {
            Box::new(section)
        };
        Ok(Box::new(VerifyingReader::new(
            content,
            descriptor.digest.clone(),
            Some(descriptor.size),
        )))
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.with_staging(|staging| {
            staging
                .store
                .put(&descriptor.digest, Some(descriptor.size), content)
                .map(drop)
        })
    }

    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.with_staging(|staging| {
            staging
                .store
                .put_verified(&descriptor.digest, descriptor.size, content)
                .map(drop)
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        let tar = self.tar()?;
        Ok(Self::tags_of(&self.items(&tar)?))
    }

    fn delete(&self, _selector: &Selector) -> Result<()> {
        Err(Error::unsupported(format!(
            "images are not deleted from a docker-archive; write a new one without it ({})",
            self.path.display()
        )))
    }

    /// Writes the archive: every image this handle was given, complete.
    fn finalize(&self) -> Result<()> {
        match lock(&self.staging).as_ref() {
            Some(staging) if !staging.images.is_empty() => self
                .write(staging)
                .map_err(|e| e.context(format!("writing {}", self.name()))),
            _ => Ok(()),
        }
    }

    /// Nothing to clean at `PATH`, which is written only by `finalize`; the
    /// staged blobs go with the handle.
    fn abort(&self) {}

    fn conversion(&self, root: &Manifest) -> Option<String> {
        match root.content() {
            ManifestContent::Index(index) => Some(format!(
                "a docker-archive holds images, not indexes: the {} images of index {} are \
                 stored as separate entries of manifest.json (the index is kept in index.json)",
                index.manifests.len(),
                root.digest()
            )),
            ManifestContent::Image(image)
                if root.media_type() != media_types::DOCKER_MANIFEST
                    || image
                        .layers
                        .iter()
                        .any(|l| l.media_type != media_types::DOCKER_LAYER_GZIP) =>
            {
                Some(format!(
                    "docker load and skopeo read a docker-archive through manifest.json, \
                     rebuilding a Docker schema 2 manifest with uncompressed layers: to them \
                     the image's digest is not {} (stevedore reads the original from index.json)",
                    root.digest()
                ))
            }
            ManifestContent::Image(_) => None,
        }
    }
}

impl Drop for DockerArchive {
    fn drop(&mut self) {
        if let Some(staging) = lock(&self.staging).take() {
            // Best effort: a staging directory left behind is only clutter.
            let _ = staging.dir.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let r = parse("/a.tar:app:1.0").unwrap();
        assert_eq!(
            r.selector(),
            Some(&Selector::Tag("docker.io/library/app:1.0".to_owned()))
        );
        assert_eq!(
            parse("/a.tar:reg:5000/x").unwrap().selector(),
            Some(&Selector::Tag("reg:5000/x:latest".to_owned()))
        );
        assert_eq!(
            parse("/a.tar:@1").unwrap().selector(),
            Some(&Selector::Index(1))
        );
        assert_eq!(parse("/a.tar").unwrap().selector(), None);
        assert!(parse("").is_err());
        assert!(parse("/a.tar:@x").is_err());
        assert!(parse(
            "/a.tar:app@sha256:0123456789012345678901234567890123456789012345678901234567890123"
        )
        .is_err());
        assert!(parse("/a.tar:UPPER").is_err());
    }
}

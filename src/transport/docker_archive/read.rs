//! Reading a `docker save` tarball: its images from `manifest.json`, each
//! image's manifest from the archive's OCI layout or rebuilt as skopeo
//! builds it, and where each blob lives in the tar.

use std::collections::HashSet;
use std::io::{self, Read};

use flate2::read::MultiGzDecoder;
use serde_json::json;

use super::manifest_json::{layout_file, Item, INDEX_FILE, MANIFEST_FILE};
use super::{lock, DockerArchive};
use crate::config::{ImageConfig, CONFIG_SIZE_MAX};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{ImageIndex, ImageManifest, Manifest, ManifestContent, MANIFEST_SIZE_MAX};
use crate::media_types::{self, Compression};
use crate::reference::Reference;
use crate::transport::tar_index::TarIndex;
use crate::transport::{Selector, Transport};

/// Where a blob read from the archive lives in it.
#[derive(Debug, Clone)]
pub(super) struct ArchivedBlob {
    pub(super) file: String,
    pub(super) gzip: bool,
    pub(super) size: u64,
}

impl DockerArchive {
    pub(super) fn items(&self, tar: &TarIndex) -> Result<Vec<Item>> {
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

    pub(super) fn tags_of(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .flat_map(|i| i.repo_tags.iter().flatten().cloned())
            .collect()
    }

    pub(super) fn item(&self, tar: &TarIndex, selector: &Selector) -> Result<Item> {
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

    pub(super) fn remember(&self, manifest: &Manifest) {
        lock(&self.manifests).insert(manifest.digest().clone(), manifest.clone());
    }

    /// The manifest of `item`: the original one from the archive's OCI
    /// layout when it has one for the item, else the one skopeo builds.
    pub(super) fn image_manifest(&self, tar: &TarIndex, item: &Item) -> Result<Manifest> {
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
}

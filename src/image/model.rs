//! The [`Image`] itself and its [`Layer`]s.

use std::collections::BTreeMap;

use serde_json::Value;

use super::blob::Blob;
use crate::config::{ImageConfig, RootFs, RuntimeConfig};
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{ImageManifest, Manifest, ManifestContent};
use crate::media_types;
use crate::platform::Platform;

/// One layer of an [`Image`]: its descriptor (compressed digest and size,
/// media type), its `diff_id` (the digest of the uncompressed tar) and what
/// backs its bytes.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The descriptor the manifest lists.
    pub descriptor: Descriptor,
    /// The digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// Where the bytes live.
    pub blob: Blob,
}

/// An image assembled in memory. Read one with [`crate::build::read`] (or
/// make one with [`Image::from_parts`]) or start from [`Image::scratch`];
/// change it with the methods below; write it with [`crate::build::write`]. Unchanged, it keeps its source's manifest and
/// config bytes exactly.
#[derive(Debug, Clone)]
pub struct Image {
    manifest: ImageManifest,
    config: ImageConfig,
    layers: Vec<Layer>,
    /// The config's exact bytes while nobody changed it.
    config_raw: Option<Vec<u8>>,
    /// The manifest as read, while nobody changed the image.
    original: Option<Manifest>,
}

/// The history entries of `config` that describe a layer (those without
/// `"empty_layer": true`), as positions in `history`.
fn layer_history(history: &[Value]) -> Vec<usize> {
    history
        .iter()
        .enumerate()
        .filter(|(_, h)| h.get("empty_layer").and_then(Value::as_bool) != Some(true))
        .map(|(i, _)| i)
        .collect()
}

impl Image {
    /// An image with no layers for `platform`: an OCI manifest, a config of
    /// only os, architecture and variant, empty `rootfs`.
    pub fn scratch(platform: &Platform) -> Image {
        let config = ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone(),
            rootfs: Some(RootFs {
                kind: "layers".to_owned(),
                diff_ids: Vec::new(),
            }),
            ..ImageConfig::default()
        };
        Image {
            manifest: ImageManifest {
                schema_version: 2,
                media_type: Some(media_types::OCI_MANIFEST.to_owned()),
                artifact_type: None,
                config: Descriptor::for_bytes(media_types::OCI_CONFIG, b"{}"),
                layers: Vec::new(),
                subject: None,
                annotations: BTreeMap::new(),
            },
            config,
            layers: Vec::new(),
            config_raw: None,
            original: None,
        }
    }

    /// The image of `manifest` (`parsed` is its parsed form) with the config
    /// `config_raw`, every layer's bytes in `layers` (such as the transport
    /// it was read from). `name` names the image in errors. Unchanged, the
    /// image keeps `manifest`'s and `config_raw`'s exact bytes.
    ///
    /// Errors: [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// for a config that does not parse, or whose `rootfs.diff_ids` do not
    /// match the layers.
    pub fn from_parts(
        name: &str,
        manifest: Manifest,
        parsed: ImageManifest,
        config_raw: Vec<u8>,
        layers: Blob,
    ) -> Result<Image> {
        let config = ImageConfig::from_bytes(&config_raw)?;
        let diff_ids = config
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        if diff_ids.len() != parsed.layers.len() {
            return Err(Error::invalid(format!(
                "{name}: the config lists {} diff_ids for {} layers",
                diff_ids.len(),
                parsed.layers.len()
            )));
        }
        let layers = parsed
            .layers
            .iter()
            .zip(&diff_ids)
            .map(|(descriptor, diff_id)| {
                Ok(Layer {
                    descriptor: descriptor.clone(),
                    diff_id: diff_id.parse()?,
                    blob: layers.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Image {
            manifest: parsed,
            config,
            layers,
            config_raw: Some(config_raw),
            original: Some(manifest),
        })
    }

    /// Whether the manifest is Docker's schema 2 (its layers then use
    /// Docker's media types).
    pub fn is_docker(&self) -> bool {
        self.manifest.media_type.as_deref() == Some(media_types::DOCKER_MANIFEST)
    }

    /// The config.
    pub fn config(&self) -> &ImageConfig {
        &self.config
    }

    /// The config, to change; the config and manifest are recomputed.
    pub fn config_mut(&mut self) -> &mut ImageConfig {
        self.touch_config();
        &mut self.config
    }

    /// The runtime part of the config (`config`), created when absent.
    pub fn runtime_mut(&mut self) -> &mut RuntimeConfig {
        self.config_mut()
            .config
            .get_or_insert_with(RuntimeConfig::default)
    }

    /// The manifest's annotations, to change.
    pub fn annotations_mut(&mut self) -> &mut BTreeMap<String, String> {
        self.original = None;
        &mut self.manifest.annotations
    }

    /// The manifest's annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.manifest.annotations
    }

    /// The layers, base first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The platform the config declares.
    pub fn platform(&self) -> Platform {
        Platform::new(
            &self.config.os,
            &self.config.architecture,
            self.config.variant.as_deref(),
        )
    }

    fn touch_config(&mut self) {
        self.config_raw = None;
        self.original = None;
    }

    fn sync_diff_ids(&mut self) {
        self.touch_config();
        let diff_ids = self.layers.iter().map(|l| l.diff_id.to_string()).collect();
        self.config
            .rootfs
            .get_or_insert_with(|| RootFs {
                kind: "layers".to_owned(),
                diff_ids: Vec::new(),
            })
            .diff_ids = diff_ids;
    }

    /// Adds `layer` on top, with `history` as its history entry.
    pub fn push_layer(&mut self, layer: Layer, history: Value) {
        self.layers.push(layer);
        self.config.history.push(history);
        self.sync_diff_ids();
    }

    /// Adds a history entry that makes no layer (`"empty_layer": true` is
    /// set).
    pub fn push_empty_history(&mut self, mut history: Value) {
        if let Value::Object(map) = &mut history {
            map.insert("empty_layer".to_owned(), Value::Bool(true));
        }
        self.touch_config();
        self.config.history.push(history);
    }

    /// Removes the layer at `position` (0 is the base's first) and its
    /// history entry. [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// when there is no such layer.
    pub fn remove_layer(&mut self, position: usize) -> Result<Layer> {
        self.check_position(position)?;
        if let Some(&h) = layer_history(&self.config.history).get(position) {
            self.config.history.remove(h);
        }
        let layer = self.layers.remove(position);
        self.sync_diff_ids();
        Ok(layer)
    }

    /// Replaces the layer at `position` by `layer` (its history entry is
    /// kept). [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// when there is no such layer.
    pub fn replace_layer(&mut self, position: usize, layer: Layer) -> Result<Layer> {
        self.check_position(position)?;
        let old = std::mem::replace(&mut self.layers[position], layer);
        self.sync_diff_ids();
        Ok(old)
    }

    /// Replaces every layer by `layer` and the whole history by `history`
    /// (what flattening does); the rest of the config stays.
    pub fn set_single_layer(&mut self, layer: Layer, history: Value) {
        self.layers = vec![layer];
        self.config.history = vec![history];
        self.sync_diff_ids();
    }

    fn check_position(&self, position: usize) -> Result<()> {
        if position >= self.layers.len() {
            return Err(Error::invalid(format!(
                "layer {position} does not exist: the image has {} layers (0 to {})",
                self.layers.len(),
                self.layers.len().saturating_sub(1)
            )));
        }
        Ok(())
    }

    /// Replaces `old_base`'s layers at the bottom of this image by
    /// `new_base`'s, and the history entries they came with; the rest of the
    /// config stays.
    ///
    /// Errors: [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// when `old_base` is not a prefix of this image (its layers' digests
    /// and diff_ids, in order), naming the first layer that differs.
    pub fn rebase(&mut self, old_base: &Image, new_base: &Image) -> Result<()> {
        let old = &old_base.layers;
        if old.len() > self.layers.len() {
            return Err(Error::invalid(format!(
                "the old base has {} layers, more than the image's {}: it is not the image's base",
                old.len(),
                self.layers.len()
            )));
        }
        for (i, (mine, theirs)) in self.layers.iter().zip(old).enumerate() {
            if mine.descriptor.digest != theirs.descriptor.digest || mine.diff_id != theirs.diff_id
            {
                return Err(Error::invalid(format!(
                    "the old base is not the image's base: layer {i} is {} in the image but {} in the old base",
                    mine.descriptor.digest, theirs.descriptor.digest
                )));
            }
        }
        let old_history = old_base.config.history.len();
        if self.config.history.len() < old_history {
            return Err(Error::invalid(
                "the image has fewer history entries than the old base: it is not the image's base",
            ));
        }
        let mut history = new_base.config.history.clone();
        history.extend(self.config.history.drain(old_history..));
        self.config.history = history;
        let mut layers = new_base.layers.clone();
        layers.extend(self.layers.drain(old.len()..));
        self.layers = layers;
        self.sync_diff_ids();
        Ok(())
    }

    /// The config's bytes: as read while unchanged, else serialised.
    pub fn config_bytes(&self) -> Result<Vec<u8>> {
        match &self.config_raw {
            Some(raw) => Ok(raw.clone()),
            None => self.config.to_bytes(),
        }
    }

    /// The manifest: as read while the image is unchanged, else built from
    /// the config's bytes and the layers.
    pub fn manifest(&self) -> Result<Manifest> {
        if let Some(original) = &self.original {
            return Ok(original.clone());
        }
        let config = self.config_bytes()?;
        let mut manifest = self.manifest.clone();
        manifest.config = Descriptor::for_bytes(&manifest.config.media_type, &config);
        manifest.layers = self.layers.iter().map(|l| l.descriptor.clone()).collect();
        Manifest::build(ManifestContent::Image(Box::new(manifest)))
    }

    /// The manifest's descriptor for an index entry, with the config's
    /// platform.
    pub fn index_entry(&self) -> Result<Descriptor> {
        let mut entry = self.manifest()?.descriptor();
        entry.platform = Some(self.platform());
        Ok(entry)
    }
}

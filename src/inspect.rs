//! The inspect verb: what an image is — digest, platform, layers, config —
//! plus its raw manifest and config bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ImageConfig;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::Result;
use crate::manifest::{Manifest, ManifestContent};
use crate::platform::{self, Platform};
use crate::resolve::{image_for_platform, small_blob};
use crate::transport::ImageRef;

/// How to inspect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InspectOptions {
    /// The image to describe when the reference names an index, as
    /// `os/arch[/variant]`. Defaults to the host's platform.
    #[serde(deserialize_with = "platform::deserialize_optional")]
    pub platform: Option<Platform>,
}

/// One entry of an index, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexEntry {
    /// The entry's manifest digest.
    pub digest: Digest,
    /// The entry's media type.
    pub media_type: String,
    /// The entry's manifest size.
    pub size: u64,
    /// The entry's platform (`os/arch[/variant]`), if it has one.
    pub platform: Option<String>,
}

/// One layer, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    /// The layer blob's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
}

/// What `inspect` reports about an image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectReport {
    /// The image, as given.
    pub name: String,
    /// The digest of the manifest the reference names (an index's, for an index).
    pub digest: Digest,
    /// The media type of that manifest.
    pub media_type: String,
    /// The entries, when the reference names an index.
    pub index: Option<Vec<IndexEntry>>,
    /// The digest of the image manifest described below (differs from `digest`
    /// when an image was chosen from an index).
    pub image_digest: Digest,
    /// The image's platform.
    pub platform: String,
    /// When the image was created.
    pub created: Option<String>,
    /// Who made the image.
    pub author: Option<String>,
    /// The config blob's digest.
    pub config_digest: Digest,
    /// The layers, base first.
    pub layers: Vec<Layer>,
    /// The total size of the layers in bytes.
    pub layers_size: u64,
    /// The container environment.
    pub env: Vec<String>,
    /// The entrypoint.
    pub entrypoint: Vec<String>,
    /// The default command.
    pub cmd: Vec<String>,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// The image manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// The manifest the reference names, exactly as stored.
pub fn raw_manifest(image: &ImageRef) -> Result<Manifest> {
    image.transport().get_manifest(&image.resolve()?)
}

/// The config blob of the image, exactly as stored (the chosen platform's,
/// for an index).
pub fn raw_config(image: &ImageRef, options: &InspectOptions) -> Result<Vec<u8>> {
    let root = raw_manifest(image)?;
    let (_, image_manifest) =
        image_for_platform(image.transport(), root, options.platform.as_ref())?;
    small_blob(image.transport(), &image_manifest.config)
}

/// Describes the image the reference names.
pub fn inspect(image: &ImageRef, options: &InspectOptions) -> Result<InspectReport> {
    let root = raw_manifest(image)?;
    let index = match root.content() {
        ManifestContent::Index(i) => Some(i.manifests.iter().map(index_entry).collect()),
        ManifestContent::Image(_) => None,
    };
    let (digest, media_type) = (root.digest().clone(), root.media_type().to_owned());
    let (manifest, m) = image_for_platform(image.transport(), root, options.platform.as_ref())?;
    let config = ImageConfig::from_bytes(&small_blob(image.transport(), &m.config)?)?;
    let runtime = config.config.clone().unwrap_or_default();
    let layers: Vec<Layer> = m
        .layers
        .iter()
        .map(|l| Layer {
            digest: l.digest.clone(),
            media_type: l.media_type.clone(),
            size: l.size,
            annotations: l.annotations.clone(),
        })
        .collect();
    Ok(InspectReport {
        name: image.to_string(),
        digest,
        media_type,
        index,
        image_digest: manifest.digest().clone(),
        platform: Platform::new(&config.os, &config.architecture, config.variant.as_deref())
            .to_string(),
        created: config.created.clone(),
        author: config.author.clone(),
        config_digest: m.config.digest.clone(),
        layers_size: layers.iter().map(|l| l.size).sum(),
        layers,
        env: runtime.env.unwrap_or_default(),
        entrypoint: runtime.entrypoint.unwrap_or_default(),
        cmd: runtime.cmd.unwrap_or_default(),
        labels: runtime.labels.unwrap_or_default(),
        annotations: m.annotations.clone(),
    })
}

fn index_entry(d: &Descriptor) -> IndexEntry {
    IndexEntry {
        digest: d.digest.clone(),
        media_type: d.media_type.clone(),
        size: d.size,
        platform: d.platform.as_ref().map(ToString::to_string),
    }
}

/// The tags of the repository or layout the reference names.
pub fn tags(image: &ImageRef) -> Result<Vec<String>> {
    image.transport().list_tags()
}

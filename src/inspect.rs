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
use crate::registry::Client;
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
    /// Leave `RepoTags` empty instead of listing the repository's tags
    /// (skopeo's `--no-tags`). Defaults to false.
    pub no_tags: bool,
}

/// The keys skopeo's `inspect` prints, with its names and shapes, so that
/// scripts written for skopeo read our report (they sit beside ours in
/// [`InspectReport`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SkopeoFields {
    /// The repository, as a docker reference without tag (`registry/repo`);
    /// empty for transports that have none (`oci:`, `dir:`), as skopeo's.
    pub name: String,
    /// The digest of the manifest the reference names (as `digest`).
    pub digest: Digest,
    /// The repository's tags (`docker://` only; empty elsewhere or with
    /// `no_tags`).
    pub repo_tags: Vec<String>,
    /// The config's `created`.
    pub created: Option<String>,
    /// The config's `docker_version`, empty when it has none.
    pub docker_version: String,
    /// The labels, `null` when there are none.
    pub labels: Option<BTreeMap<String, String>>,
    /// The config's architecture.
    pub architecture: String,
    /// The config's variant, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The config's os.
    pub os: String,
    /// The layer digests, base first.
    pub layers: Vec<Digest>,
    /// The layers, as skopeo describes them.
    pub layers_data: Vec<SkopeoLayer>,
    /// The container environment, `null` when there is none.
    pub env: Option<Vec<String>>,
}

/// One layer in skopeo's `LayersData`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SkopeoLayer {
    /// The media type.
    #[serde(rename = "MIMEType")]
    pub mime_type: String,
    /// The blob digest.
    pub digest: Digest,
    /// The size in bytes.
    pub size: u64,
    /// The annotations, `null` when there are none.
    pub annotations: Option<BTreeMap<String, String>>,
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
    /// skopeo's keys (`Name`, `Digest`, `RepoTags`, `Created`, …), first.
    #[serde(flatten)]
    pub skopeo: SkopeoFields,
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
    let skopeo = SkopeoFields {
        name: docker_name(image),
        digest: digest.clone(),
        repo_tags: if options.no_tags || docker_name(image).is_empty() {
            Vec::new()
        } else {
            image.transport().list_tags()?
        },
        created: config.created.clone(),
        docker_version: config
            .extra
            .get("docker_version")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
        labels: runtime.labels.clone().filter(|l| !l.is_empty()),
        architecture: config.architecture.clone(),
        variant: config.variant.clone(),
        os: config.os.clone(),
        layers: layers.iter().map(|l| l.digest.clone()).collect(),
        layers_data: layers
            .iter()
            .map(|l| SkopeoLayer {
                mime_type: l.media_type.clone(),
                digest: l.digest.clone(),
                size: l.size,
                annotations: Some(l.annotations.clone()).filter(|a| !a.is_empty()),
            })
            .collect(),
        env: runtime.env.clone(),
    };
    Ok(InspectReport {
        skopeo,
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

/// The docker reference name (`registry/repo`) of a `docker://` image, as
/// skopeo's `Name` and `Repository`; empty for other transports.
pub fn docker_name(image: &ImageRef) -> String {
    image
        .transport()
        .name()
        .strip_prefix("docker://")
        .map(str::to_owned)
        .unwrap_or_default()
}

/// The digest of the manifest the reference names (crane's `digest`;
/// skopeo's `inspect --format {{.Digest}}`).
pub fn digest(image: &ImageRef) -> Result<Digest> {
    Ok(raw_manifest(image)?.digest().clone())
}

/// The tags of a repository as skopeo's `list-tags` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagList {
    /// The repository (`registry/repo` for `docker://`; the transport
    /// string for others).
    pub repository: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// The tags of the repository or layout, with its name (skopeo's `list-tags`).
pub fn list_tags(image: &ImageRef) -> Result<TagList> {
    let name = docker_name(image);
    Ok(TagList {
        repository: if name.is_empty() {
            image.transport().name()
        } else {
            name
        },
        tags: tags(image)?,
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

/// The repositories of the registry at `registry` (`host[:port]`; a
/// `docker://` prefix and a trailing `/` are allowed), every page of the
/// distribution spec's `GET /v2/_catalog`, through `client` (its
/// credentials, TLS and plain-HTTP settings). A registry that does not list
/// its catalog answers [`ErrorKind::Unsupported`](crate::ErrorKind) or
/// `Unauthorized`/`Denied`.
pub fn catalog(client: &Client, registry: &str) -> Result<Vec<String>> {
    let host = registry
        .trim_start_matches("docker://")
        .trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(crate::Error::invalid(format!(
            "{registry:?} is not a registry host (host[:port], such as registry.example:5000)"
        )));
    }
    crate::reference::validate_registry(host)?;
    client.catalog(host, None)
}

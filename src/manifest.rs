//! Manifests and indexes (OCI and Docker schema 2), parsed from raw bytes that
//! are kept unchanged beside the parsed form, so a manifest's digest never moves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::descriptor::Descriptor;
use crate::digest::{Algorithm, Digest};
use crate::error::{Error, Result};
use crate::media_types;

/// The largest manifest Stevedore reads (registries accept at least 4 MiB).
pub const MANIFEST_SIZE_MAX: u64 = 8 * 1024 * 1024;

/// A single-image manifest (OCI image manifest or Docker schema 2 manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type, when written in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type, for artifact manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The image config blob.
    pub config: Descriptor,
    /// The layer blobs, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An index of manifests (OCI image index or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The index's own media type, when written in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type, for artifact indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests the index lists.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The parsed form of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestContent {
    /// One image: a config and layers.
    Image(Box<ImageManifest>),
    /// An index of manifests.
    Index(Box<ImageIndex>),
}

/// A manifest: its exact bytes, its media type and digest, and the parsed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    raw: Vec<u8>,
    media_type: String,
    digest: Digest,
    content: ManifestContent,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<serde_json::Value>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses `raw`, whose media type was declared as `declared` (by a
    /// descriptor or a `Content-Type`), and computes its SHA-256 digest.
    /// Without a declaration, the `mediaType` field decides, then the shape.
    pub fn from_bytes(raw: Vec<u8>, declared: Option<&str>) -> Result<Manifest> {
        Manifest::parse(raw, declared, Algorithm::Sha256)
    }

    /// Parses `raw` like [`from_bytes`](Self::from_bytes) and checks that it
    /// has the digest `expected`.
    pub fn from_bytes_verified(
        raw: Vec<u8>,
        declared: Option<&str>,
        expected: &Digest,
    ) -> Result<Manifest> {
        expected
            .verify(&raw)
            .map_err(|e| e.context(format!("manifest {expected}")))?;
        Manifest::parse(raw, declared, expected.algorithm())
    }

    /// Serialises `content` (which Stevedore built) as compact JSON and wraps it.
    pub fn build(content: ManifestContent) -> Result<Manifest> {
        let (raw, media_type) = match &content {
            ManifestContent::Image(m) => (
                serde_json::to_vec(m),
                m.media_type
                    .clone()
                    .unwrap_or_else(|| media_types::OCI_MANIFEST.to_owned()),
            ),
            ManifestContent::Index(i) => (
                serde_json::to_vec(i),
                i.media_type
                    .clone()
                    .unwrap_or_else(|| media_types::OCI_INDEX.to_owned()),
            ),
        };
        let raw = raw.map_err(|e| Error::invalid(format!("cannot serialise manifest: {e}")))?;
        Ok(Manifest {
            digest: Digest::sha256(&raw),
            raw,
            media_type,
            content,
        })
    }

    fn parse(raw: Vec<u8>, declared: Option<&str>, algorithm: Algorithm) -> Result<Manifest> {
        let probe: Probe = serde_json::from_slice(&raw)
            .map_err(|e| Error::invalid(format!("manifest is not valid JSON: {e}")))?;
        let schema1 = probe.schema_version.as_ref().and_then(|v| v.as_u64()) == Some(1)
            || declared.is_some_and(media_types::is_schema1)
            || probe
                .media_type
                .as_deref()
                .is_some_and(media_types::is_schema1);
        if schema1 {
            return Err(Error::unsupported(
                "this is a Docker schema 1 manifest, a deprecated format Stevedore does not \
                 read; push the image again with a current client to get a schema 2 or OCI manifest",
            ));
        }
        if let (Some(declared), Some(inner)) = (declared, probe.media_type.as_deref()) {
            if declared != inner {
                return Err(Error::invalid(format!(
                    "manifest declared as {declared} says it is {inner}"
                )));
            }
        }
        let media_type = match (declared, probe.media_type) {
            (Some(d), _) => d.to_owned(),
            (None, Some(inner)) => inner,
            (None, None) if probe.manifests.is_some() => media_types::OCI_INDEX.to_owned(),
            (None, None) => media_types::OCI_MANIFEST.to_owned(),
        };
        let content = if media_types::is_index(&media_type) {
            ManifestContent::Index(Box::new(
                serde_json::from_slice(&raw)
                    .map_err(|e| Error::invalid(format!("invalid {media_type} index: {e}")))?,
            ))
        } else if media_types::is_image_manifest(&media_type) {
            ManifestContent::Image(Box::new(
                serde_json::from_slice(&raw)
                    .map_err(|e| Error::invalid(format!("invalid {media_type} manifest: {e}")))?,
            ))
        } else {
            return Err(Error::unsupported(format!(
                "unsupported manifest media type {media_type:?}; expected one of {}",
                media_types::MANIFEST_TYPES.join(", ")
            )));
        };
        Ok(Manifest {
            digest: Digest::compute(algorithm, &raw),
            raw,
            media_type,
            content,
        })
    }

    /// The exact bytes, as digested.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The media type.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The digest of the raw bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The parsed form.
    pub fn content(&self) -> &ManifestContent {
        &self.content
    }

    /// Whether this is an index.
    pub fn is_index(&self) -> bool {
        matches!(self.content, ManifestContent::Index(_))
    }

    /// A descriptor of this manifest (media type, digest, size).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(&self.media_type, self.digest.clone(), self.raw.len() as u64)
    }

    /// The blobs an image manifest references: config first, then layers.
    /// Empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match &self.content {
            ManifestContent::Image(m) => std::iter::once(&m.config).chain(&m.layers).collect(),
            ManifestContent::Index(_) => Vec::new(),
        }
    }
}

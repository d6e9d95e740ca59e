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

impl ImageIndex {
    /// An OCI image index listing `manifests`.
    pub fn oci(manifests: Vec<Descriptor>) -> ImageIndex {
        ImageIndex {
            schema_version: 2,
            media_type: Some(media_types::OCI_INDEX.to_owned()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: Default::default(),
        }
    }
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
    /// The manifest this one refers to (its OCI 1.1 `subject`), if any.
    pub fn subject(&self) -> Option<&Descriptor> {
        match &self.content {
            ManifestContent::Image(m) => m.subject.as_ref(),
            ManifestContent::Index(i) => i.subject.as_ref(),
        }
    }

    /// Its descriptor as a referrers list shows it: with its artifact type
    /// (or, for an image manifest without one, its config's media type) and
    /// its annotations.
    pub fn referrer_descriptor(&self) -> Descriptor {
        let mut entry = self.descriptor();
        let (artifact_type, annotations) = match &self.content {
            ManifestContent::Image(m) => (
                m.artifact_type
                    .clone()
                    .or_else(|| Some(m.config.media_type.clone())),
                m.annotations.clone(),
            ),
            ManifestContent::Index(i) => (i.artifact_type.clone(), i.annotations.clone()),
        };
        entry.artifact_type = artifact_type;
        entry.annotations = annotations;
        entry
    }

    /// Empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match &self.content {
            ManifestContent::Image(m) => std::iter::once(&m.config).chain(&m.layers).collect(),
            ManifestContent::Index(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn docker_manifest() -> String {
        format!(
            r#"{{
   "schemaVersion": 2,
   "mediaType": "{}",
   "config": {{"mediaType": "{}", "size": 0, "digest": "{D}"}},
   "layers": [{{"mediaType": "{}", "size": 0, "digest": "{D}"}}]
}}"#,
            media_types::DOCKER_MANIFEST,
            media_types::DOCKER_CONFIG,
            media_types::DOCKER_LAYER_GZIP
        )
    }

    #[test]
    fn raw_bytes_and_digest_are_kept_exactly() {
        let raw = docker_manifest();
        let m = Manifest::from_bytes(raw.clone().into_bytes(), None).unwrap();
        assert_eq!(m.raw(), raw.as_bytes(), "odd whitespace is kept");
        assert_eq!(m.digest(), &Digest::sha256(raw.as_bytes()));
        assert_eq!(m.media_type(), media_types::DOCKER_MANIFEST);
        assert_eq!(m.blobs().len(), 2);
        assert_eq!(m.descriptor().size, raw.len() as u64);
        let again =
            Manifest::from_bytes_verified(raw.clone().into_bytes(), None, m.digest()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn media_type_comes_from_the_declaration_then_the_field_then_the_shape() {
        let list = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[]}}"#,
            media_types::DOCKER_MANIFEST_LIST
        );
        let m = Manifest::from_bytes(list.into_bytes(), None).unwrap();
        assert_eq!(m.media_type(), media_types::DOCKER_MANIFEST_LIST);
        assert!(m.is_index());
        let bare_index = br#"{"schemaVersion":2,"manifests":[]}"#.to_vec();
        let m = Manifest::from_bytes(bare_index.clone(), None).unwrap();
        assert_eq!(m.media_type(), media_types::OCI_INDEX);
        let m = Manifest::from_bytes(bare_index, Some(media_types::DOCKER_MANIFEST_LIST)).unwrap();
        assert_eq!(m.media_type(), media_types::DOCKER_MANIFEST_LIST);
    }

    #[test]
    fn a_declaration_that_contradicts_the_content_is_refused() {
        let err = Manifest::from_bytes(
            docker_manifest().into_bytes(),
            Some(media_types::OCI_MANIFEST),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("says it is"), "{err}");
    }

    #[test]
    fn schema1_is_recognised_and_refused() {
        let v1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#.to_vec();
        for declared in [None, Some(media_types::DOCKER_SCHEMA1_SIGNED)] {
            let err = Manifest::from_bytes(v1.clone(), declared).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
            assert!(err.message().contains("schema 1"), "{err}");
        }
    }

    #[test]
    fn malformed_manifests_are_invalid_input() {
        for (raw, declared) in [
            (&b"not json"[..], None),
            (br#"{"schemaVersion":2,"layers":[]}"#, Some(media_types::OCI_MANIFEST)),
            (br#"{"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"sha256:../../x"},"layers":[]}"#, None),
            (br#"{"schemaVersion":2,"manifests":{}}"#, Some(media_types::OCI_INDEX)),
        ] {
            let err = Manifest::from_bytes(raw.to_vec(), declared).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{}", String::from_utf8_lossy(raw));
        }
        let err = Manifest::from_bytes(b"{}".to_vec(), Some("text/plain")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        let wrong = Digest::sha256(b"other");
        let err = Manifest::from_bytes_verified(docker_manifest().into_bytes(), None, &wrong)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    }
}

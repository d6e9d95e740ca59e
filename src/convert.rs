//! Converting Docker schema 2 manifests and manifest lists to their OCI
//! equivalents, for destinations that hold only OCI manifests (`oci:` and
//! `oci-archive:`, which skopeo and umoci read only in OCI form), and back
//! (skopeo's `--format v2s2`) where Docker's format can say it. Blobs are
//! kept as they are; only media types change, so only manifest digests move.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::config::ImageConfig;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ManifestContent};
use crate::media_types;
use crate::resolve::small_blob;
use crate::transport::Transport;

/// The OCI media type of a Docker layer whose content is `uncompressed` or not.
fn oci_layer_type(docker: &str, uncompressed: bool) -> String {
    match docker {
        media_types::DOCKER_FOREIGN_LAYER => {
            media_types::OCI_LAYER_NONDISTRIBUTABLE_GZIP.to_owned()
        }
        media_types::DOCKER_LAYER => media_types::OCI_LAYER.to_owned(),
        media_types::DOCKER_LAYER_GZIP if uncompressed => media_types::OCI_LAYER.to_owned(),
        media_types::DOCKER_LAYER_GZIP => media_types::OCI_LAYER_GZIP.to_owned(),
        other => other.to_owned(),
    }
}

/// Whether `manifest` is in Docker's format, and so needs converting for a
/// destination that holds only OCI manifests.
pub fn is_docker(manifest: &Manifest) -> bool {
    matches!(
        manifest.media_type(),
        media_types::DOCKER_MANIFEST | media_types::DOCKER_MANIFEST_LIST
    )
}

/// Converts `children` (an index's manifests, children before parents) and
/// `root` to OCI, reading configs from `source` to tell uncompressed layers
/// (those whose digest is their diff ID, as read from a docker-archive) from
/// gzip ones. Returns the new root and children.
pub fn to_oci(
    source: &dyn Transport,
    root: &Manifest,
    children: &[Manifest],
) -> Result<(Manifest, Vec<Manifest>)> {
    let mut replaced: HashMap<Digest, Descriptor> = HashMap::new();
    let mut converted = Vec::with_capacity(children.len());
    for child in children {
        let new = convert_one(source, child, &replaced)?;
        replaced.insert(child.digest().clone(), new.descriptor());
        converted.push(new);
    }
    Ok((convert_one(source, root, &replaced)?, converted))
}

fn convert_one(
    source: &dyn Transport,
    manifest: &Manifest,
    replaced: &HashMap<Digest, Descriptor>,
) -> Result<Manifest> {
    if !is_docker(manifest) {
        return Ok(manifest.clone());
    }
    match manifest.content() {
        ManifestContent::Image(image) => {
            let config = small_blob(source, &image.config)?;
            let diff_ids = ImageConfig::from_bytes(&config)?
                .rootfs
                .map(|r| r.diff_ids)
                .unwrap_or_default();
            let mut image = image.as_ref().clone();
            image.media_type = Some(media_types::OCI_MANIFEST.to_owned());
            if image.config.media_type == media_types::DOCKER_CONFIG {
                image.config.media_type = media_types::OCI_CONFIG.to_owned();
            }
            for layer in &mut image.layers {
                let uncompressed = diff_ids.contains(&layer.digest.to_string());
                layer.media_type = oci_layer_type(&layer.media_type, uncompressed);
            }
            Manifest::build(ManifestContent::Image(Box::new(image)))
        }
        ManifestContent::Index(index) => {
            let mut index = index.as_ref().clone();
            index.media_type = Some(media_types::OCI_INDEX.to_owned());
            for entry in &mut index.manifests {
                if let Some(new) = replaced.get(&entry.digest) {
                    entry.media_type = new.media_type.clone();
                    entry.digest = new.digest.clone();
                    entry.size = new.size;
                }
            }
            Manifest::build(ManifestContent::Index(Box::new(index)))
        }
    }
}

/// The manifest format a copy writes (skopeo's `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestFormat {
    /// OCI image manifests and indexes.
    Oci,
    /// Docker schema 2 manifests and manifest lists.
    V2s2,
}

impl std::str::FromStr for ManifestFormat {
    type Err = Error;

    /// Reads `oci` or `v2s2` (skopeo's spellings).
    fn from_str(s: &str) -> Result<ManifestFormat> {
        match s {
            "oci" => Ok(ManifestFormat::Oci),
            "v2s2" => Ok(ManifestFormat::V2s2),
            other => Err(Error::invalid(format!(
                "unknown manifest format {other:?}: use oci or v2s2"
            ))),
        }
    }
}

/// Whether `manifest` is in the OCI format.
pub fn is_oci(manifest: &Manifest) -> bool {
    matches!(
        manifest.media_type(),
        media_types::OCI_MANIFEST | media_types::OCI_INDEX
    )
}

/// The Docker media type of an OCI layer type, or an error naming what
/// Docker's format cannot say (zstd layers).
fn docker_layer_type(oci: &str) -> Result<String> {
    Ok(match oci {
        media_types::OCI_LAYER => media_types::DOCKER_LAYER.to_owned(),
        media_types::OCI_LAYER_GZIP => media_types::DOCKER_LAYER_GZIP.to_owned(),
        media_types::OCI_LAYER_NONDISTRIBUTABLE_GZIP => {
            media_types::DOCKER_FOREIGN_LAYER.to_owned()
        }
        media_types::OCI_LAYER_ZSTD
        | media_types::OCI_LAYER_NONDISTRIBUTABLE
        | media_types::OCI_LAYER_NONDISTRIBUTABLE_ZSTD => {
            return Err(Error::unsupported(format!(
                "a {oci} layer has no Docker schema 2 media type: copy with --format oci"
            )))
        }
        other => other.to_owned(),
    })
}

/// Converts `children` (an index's manifests, children before parents) and
/// `root` from OCI to Docker schema 2, as skopeo's `--format v2s2` does.
/// Annotations (which Docker's format has no place for) are dropped;
/// artifacts (a config that is not an image config) and zstd layers are
/// refused with [`ErrorKind::Unsupported`](crate::error::ErrorKind).
/// Returns the new root and children.
pub fn to_docker(root: &Manifest, children: &[Manifest]) -> Result<(Manifest, Vec<Manifest>)> {
    let mut replaced: HashMap<Digest, Descriptor> = HashMap::new();
    let mut converted = Vec::with_capacity(children.len());
    for child in children {
        let new = docker_one(child, &replaced)?;
        replaced.insert(child.digest().clone(), new.descriptor());
        converted.push(new);
    }
    Ok((docker_one(root, &replaced)?, converted))
}

fn docker_one(manifest: &Manifest, replaced: &HashMap<Digest, Descriptor>) -> Result<Manifest> {
    if !is_oci(manifest) {
        return Ok(manifest.clone());
    }
    match manifest.content() {
        ManifestContent::Image(image) => {
            let mut image = image.as_ref().clone();
            if image.config.media_type != media_types::OCI_CONFIG {
                return Err(Error::unsupported(format!(
                    "{} is an artifact (config {}), which Docker schema 2 cannot hold",
                    manifest.digest(),
                    image.config.media_type
                )));
            }
            image.media_type = Some(media_types::DOCKER_MANIFEST.to_owned());
            image.config.media_type = media_types::DOCKER_CONFIG.to_owned();
            image.config.annotations.clear();
            image.annotations.clear();
            image.subject = None;
            image.artifact_type = None;
            for layer in &mut image.layers {
                layer.media_type = docker_layer_type(&layer.media_type)?;
                layer.annotations.clear();
                layer.data = None;
            }
            Manifest::build(ManifestContent::Image(Box::new(image)))
        }
        ManifestContent::Index(index) => {
            let mut index = index.as_ref().clone();
            index.media_type = Some(media_types::DOCKER_MANIFEST_LIST.to_owned());
            index.annotations.clear();
            index.subject = None;
            index.artifact_type = None;
            for entry in &mut index.manifests {
                if let Some(new) = replaced.get(&entry.digest) {
                    entry.media_type = new.media_type.clone();
                    entry.digest = new.digest.clone();
                    entry.size = new.size;
                }
                entry.annotations.clear();
            }
            Manifest::build(ManifestContent::Index(Box::new(index)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_types_map_by_compression() {
        assert_eq!(
            oci_layer_type(media_types::DOCKER_LAYER_GZIP, false),
            media_types::OCI_LAYER_GZIP
        );
        assert_eq!(
            oci_layer_type(media_types::DOCKER_LAYER_GZIP, true),
            media_types::OCI_LAYER
        );
        assert!(
            oci_layer_type(media_types::DOCKER_FOREIGN_LAYER, false).contains("nondistributable")
        );
    }
}

//! Artifacts attached to images through the OCI 1.1 `subject` field
//! (SBOMs, scan results, signatures): [`attach`] one, list an image's with
//! [`referrers`]. Registries with the Referrers API record them; for those
//! without, the tag-schema fallback index (`<alg>-<hex>`) is maintained; an
//! OCI layout keeps them as untagged entries of its index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{ImageManifest, Manifest, ManifestContent};
use crate::media_types;
use crate::transport::ImageRef;

/// The empty JSON object OCI artifacts use as their config.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// How to attach an artifact.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachOptions {
    /// The artifact's type (`application/spdx+json`, …). Required.
    pub artifact_type: String,
    /// The media type of the artifact's blob. Defaults to
    /// `application/octet-stream`.
    pub media_type: Option<String>,
    /// Annotations of the artifact's manifest.
    pub annotations: BTreeMap<String, String>,
}

/// What attaching did.
#[derive(Debug, Clone, Serialize)]
pub struct AttachReport {
    /// The artifact manifest's digest.
    pub digest: Digest,
    /// The image it refers to.
    pub subject: Digest,
    /// Its type.
    pub artifact_type: String,
    /// The digest of the artifact's blob.
    pub blob: Digest,
}

/// An OCI artifact manifest of `artifact_type` referring to `subject`, with
/// an empty config and `layers`.
pub fn artifact_manifest(
    artifact_type: &str,
    subject: Descriptor,
    layers: Vec<Descriptor>,
    annotations: BTreeMap<String, String>,
) -> Result<Manifest> {
    Manifest::build(ManifestContent::Image(Box::new(ImageManifest {
        schema_version: 2,
        media_type: Some(media_types::OCI_MANIFEST.to_owned()),
        artifact_type: Some(artifact_type.to_owned()),
        config: Descriptor::for_bytes(media_types::OCI_EMPTY, EMPTY_CONFIG),
        layers,
        subject: Some(subject),
        annotations,
    })))
}

/// Attaches `artifact` to the image `image` names.
pub fn attach(image: &ImageRef, artifact: &[u8], options: &AttachOptions) -> Result<AttachReport> {
    if options.artifact_type.is_empty() {
        return Err(Error::invalid(
            "an attached artifact needs an artifact type",
        ));
    }
    let transport = image.transport();
    let subject = transport.get_manifest(&image.resolve()?)?.descriptor();
    let media_type = options
        .media_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let blob = Descriptor::for_bytes(media_type, artifact);
    let config = Descriptor::for_bytes(media_types::OCI_EMPTY, EMPTY_CONFIG);
    transport.put_blob(&config, &mut &EMPTY_CONFIG[..])?;
    transport.put_blob(&blob, &mut &artifact[..])?;
    let manifest = artifact_manifest(
        &options.artifact_type,
        subject.clone(),
        vec![blob.clone()],
        options.annotations.clone(),
    )?;
    transport.put_referrer(&manifest)?;
    transport.finalize()?;
    Ok(AttachReport {
        digest: manifest.digest().clone(),
        subject: subject.digest,
        artifact_type: options.artifact_type.clone(),
        blob: blob.digest,
    })
}

/// The artifacts attached to the image `image` names, of `artifact_type`
/// only when given.
pub fn referrers(image: &ImageRef, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
    let transport = image.transport();
    let subject = transport.get_manifest(&image.resolve()?)?.digest().clone();
    transport.referrers(&subject, artifact_type)
}

//! The files of a `docker save` tarball that name its images: the model of
//! `manifest.json` (one item per image) and where the archive's OCI layout
//! keeps each blob.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::Reference;

pub(super) const MANIFEST_FILE: &str = "manifest.json";
pub(super) const INDEX_FILE: &str = "index.json";
/// The annotation with which Docker and containerd name an image in `index.json`.
pub(super) const IMAGE_NAME: &str = "io.containerd.image.name";

/// One image of `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Item {
    #[serde(rename = "Config")]
    pub(super) config: String,
    #[serde(rename = "RepoTags", default)]
    pub(super) repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    pub(super) layers: Vec<String>,
}

impl Item {
    /// Whether the item carries `reference` (normalised) among its tags.
    pub(super) fn has_tag(&self, reference: &Reference) -> bool {
        self.repo_tags
            .iter()
            .flatten()
            .any(|t| Reference::parse(t).ok().as_ref() == Some(reference))
    }
}

/// Where the OCI layout inside an archive keeps the blob `digest`.
pub(super) fn layout_file(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().as_str(), digest.hex())
}

/// The compact JSON of one of the archive's files.
pub(super) fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Error::invalid(format!("cannot serialise an archive file: {e}")))
}

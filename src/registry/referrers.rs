//! The OCI 1.1 Referrers API, with the tag-schema fallback (`<alg>-<hex>`)
//! for registries that lack it.

use ureq::http::{header, Method};

use super::http::{header_str, status_error, Call};
use super::{Client, Repository};
use crate::auth::Scope;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{ImageIndex, ManifestContent, MANIFEST_SIZE_MAX};
use crate::media_types;

/// Where a list of referrers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferrersSource {
    /// The registry's Referrers API.
    Api,
    /// The fallback index tagged `<alg>-<hex>`.
    TagSchema,
}

/// The tag under which the fallback index of `digest`'s referrers lives.
pub fn fallback_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm().as_str(), digest.hex())
}

impl Client {
    /// The manifests that refer to `digest` through their `subject`, filtered
    /// by `artifact_type` when given, and where the list came from.
    pub fn referrers(
        &self,
        repo: &Repository,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<(Vec<Descriptor>, ReferrersSource)> {
        let endpoint = self.endpoint(&repo.registry)?;
        let mut url = endpoint.url(&format!("/v2/{}/referrers/{digest}", repo.name));
        if let Some(t) = artifact_type {
            let encoded =
                percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC);
            url.push_str(&format!("?artifactType={encoded}"));
        }
        let call = Call::new(
            Method::GET,
            url,
            vec![Scope::repository(&repo.name, &["pull"])],
        )
        .header(header::ACCEPT, media_types::OCI_INDEX);
        let response = self.send(&endpoint, &call)?;
        let status = response.status().as_u16();
        let api = status == 200
            && header_str(&response, "content-type")
                .is_some_and(|t| t.starts_with(media_types::OCI_INDEX));
        let (index, source) = if api {
            let filtered = header_str(&response, "oci-filters-applied")
                .is_some_and(|f| f.contains("artifactType"));
            let bytes = self.read_body(&call, response, MANIFEST_SIZE_MAX)?;
            let index: ImageIndex = serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("{repo}: the referrers reply is not an index: {e}"),
                )
            })?;
            let mut list = index.manifests;
            if !filtered {
                keep_type(&mut list, artifact_type);
            }
            return Ok((list, ReferrersSource::Api));
        } else if matches!(status, 200 | 404 | 400 | 405) {
            match self.get_manifest(repo, &fallback_tag(digest)) {
                Ok(m) => match m.content() {
                    ManifestContent::Index(i) => (i.manifests.clone(), ReferrersSource::TagSchema),
                    ManifestContent::Image(_) => (Vec::new(), ReferrersSource::TagSchema),
                },
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    (Vec::new(), ReferrersSource::TagSchema)
                }
                Err(e) => return Err(e),
            }
        } else {
            return Err(status_error(&call.method, &call.url, response));
        };
        let mut list = index;
        keep_type(&mut list, artifact_type);
        Ok((list, source))
    }
}

fn keep_type(list: &mut Vec<Descriptor>, artifact_type: Option<&str>) {
    if let Some(t) = artifact_type {
        list.retain(|d| d.artifact_type.as_deref() == Some(t));
    }
}

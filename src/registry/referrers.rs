//! The OCI 1.1 Referrers API, with the tag-schema fallback (`<alg>-<hex>`)
//! for registries that lack it.

use ureq::http::{header, Method};

use super::http::{header_str, status_error, Call};
use super::{Client, Repository};
use crate::auth::Scope;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{ImageIndex, Manifest, ManifestContent, MANIFEST_SIZE_MAX};
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

impl Client {
    /// Stores `manifest`, which has a subject, so that the subject's
    /// referrers list it: through the Referrers API where the registry
    /// records subjects (it answers with `OCI-Subject`), else by adding it
    /// to the fallback index under the `<alg>-<hex>` tag.
    pub fn put_referrer(&self, repo: &Repository, manifest: &Manifest) -> Result<ReferrersSource> {
        let subject = manifest
            .subject()
            .ok_or_else(|| Error::invalid("the manifest has no subject; it refers to nothing"))?
            .digest
            .clone();
        if self
            .push_manifest(repo, &manifest.digest().to_string(), manifest)?
            .is_some()
        {
            return Ok(ReferrersSource::Api);
        }
        self.add_to_fallback_index(repo, &subject, manifest.referrer_descriptor())?;
        Ok(ReferrersSource::TagSchema)
    }

    /// Adds `entry` to the fallback index of `subject`, merging into the
    /// index as it is just before writing, and checking afterwards that the
    /// entry is there, a few times over. Threads of this client update one
    /// index one at a time; another process writing the same tag at the same
    /// moment can still undo an update (registries offer no conditional
    /// write for tags), which the check after writing narrows but cannot close.
    fn add_to_fallback_index(
        &self,
        repo: &Repository,
        subject: &Digest,
        entry: Descriptor,
    ) -> Result<()> {
        let tag = fallback_tag(subject);
        let lock = self.key_lock(format!("{repo}:{tag}"));
        let _one_at_a_time = lock.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..FALLBACK_ATTEMPTS {
            let mut index = match self.get_manifest(repo, &tag) {
                Ok(m) => match m.content() {
                    ManifestContent::Index(i) => i.as_ref().clone(),
                    ManifestContent::Image(_) => {
                        return Err(Error::invalid(format!(
                            "{repo}:{tag} is an image, not a referrers index"
                        )))
                    }
                },
                Err(e) if e.kind() == ErrorKind::NotFound => ImageIndex::oci(Vec::new()),
                Err(e) => return Err(e),
            };
            if index.manifests.iter().any(|d| d.digest == entry.digest) {
                return Ok(());
            }
            index.manifests.push(entry.clone());
            let built = Manifest::build(ManifestContent::Index(Box::new(index)))?;
            self.put_manifest(repo, &tag, &built)?;
        }
        Err(Error::new(
            ErrorKind::Network,
            format!("{repo}:{tag} kept changing under other writers; the referrer was not added"),
        ))
    }
}

/// How often the fallback index is read, merged and written before giving up.
const FALLBACK_ATTEMPTS: usize = 5;

fn keep_type(list: &mut Vec<Descriptor>, artifact_type: Option<&str>) {
    if let Some(t) = artifact_type {
        list.retain(|d| d.artifact_type.as_deref() == Some(t));
    }
}

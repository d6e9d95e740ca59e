//! The OCI 1.1 Referrers API, with the tag-schema fallback (`<alg>-<hex>`)
//! for registries that lack it.

use ureq::http::{header, Method};

use std::collections::HashSet;

use super::http::{answered_by, header_str, link_values, status_error, with_query, Call};
use super::link::next_page;
use super::{Client, Repository};
use crate::auth::Scope;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{ImageIndex, Manifest, ManifestContent};
use crate::media_types;
use crate::progress::note;

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
    /// by `artifact_type` when given, and where the list came from. Every
    /// page of the Referrers API's answer is read (`Link`, see
    /// [`super::link`]). From the fallback tag, only entries whose manifests
    /// name `digest` as their subject are listed; a tag holding something
    /// else (the subject itself, an image, an index of other things) lists
    /// nothing, with a note (see [`crate::progress::collecting_notes`]).
    pub fn referrers(
        &self,
        repo: &Repository,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<(Vec<Descriptor>, ReferrersSource)> {
        let endpoint = self.endpoint(&repo.registry)?;
        let mut url = endpoint.url(&format!("/v2/{}/referrers/{digest}", repo.name));
        if let Some(t) = artifact_type {
            url = with_query(&url, &[("artifactType", t)])?;
        }
        let mut list = Vec::new();
        let mut filtered = true;
        let mut seen = HashSet::new();
        loop {
            if !seen.insert(url.clone()) {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!(
                        "{repo}: the referrers pagination Link loops back to a page already read"
                    ),
                ));
            }
            let call = Call::new(
                Method::GET,
                url.clone(),
                vec![Scope::repository(&repo.name, &["pull"])],
            )
            .header(header::ACCEPT, media_types::OCI_INDEX);
            let response = self.send(&endpoint, &call)?;
            let status = response.status().as_u16();
            let api = status == 200
                && header_str(&response, "content-type")
                    .is_some_and(|t| t.starts_with(media_types::OCI_INDEX));
            if !api {
                if seen.len() > 1 || !matches!(status, 200 | 404 | 400 | 405) {
                    return Err(status_error(&call.method, &call.url, response));
                }
                let mut list = self.fallback_referrers(repo, digest)?;
                keep_type(&mut list, artifact_type);
                return Ok((list, ReferrersSource::TagSchema));
            }
            filtered &= header_str(&response, "oci-filters-applied")
                .is_some_and(|f| f.contains("artifactType"));
            let next = next_page(&link_values(&response), answered_by(&response, &url))
                .map_err(|e| e.context(format!("listing the referrers of {digest} in {repo}")))?;
            let bytes = self.read_body(&call, response, self.options().max_manifest_bytes)?;
            let index: ImageIndex = serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("{repo}: the referrers reply is not an index: {e}"),
                )
            })?;
            list.extend(index.manifests);
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        if !filtered {
            keep_type(&mut list, artifact_type);
        }
        Ok((list, ReferrersSource::Api))
    }

    /// The referrers of `subject` the fallback tag lists, only those whose
    /// manifests name `subject`; nothing, with a note, when the tag holds no
    /// referrers index for it.
    fn fallback_referrers(&self, repo: &Repository, subject: &Digest) -> Result<Vec<Descriptor>> {
        let tag = fallback_tag(subject);
        let found = match self.get_manifest(repo, &tag) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        match fallback_index(&found, subject) {
            Ok(index) => self.naming_subject(repo, &tag, &index.manifests, subject),
            Err(why) => {
                note(format!(
                    "{repo}:{tag} {why}, not a referrers index for {subject}: \
                     treated as no referrers"
                ));
                Ok(Vec::new())
            }
        }
    }

    /// The entries of the fallback index `tag` whose manifests name
    /// `subject`; a note for each left out.
    fn naming_subject(
        &self,
        repo: &Repository,
        tag: &str,
        entries: &[Descriptor],
        subject: &Digest,
    ) -> Result<Vec<Descriptor>> {
        let mut kept = Vec::new();
        for entry in entries {
            if self.names_subject(repo, entry, subject)? {
                kept.push(entry.clone());
            } else {
                note(format!(
                    "{repo}:{tag} lists {}, whose manifest does not name {subject} \
                     as its subject: left out of the referrers",
                    entry.digest
                ));
            }
        }
        Ok(kept)
    }

    /// Whether the manifest `entry` describes has `subject` as its subject.
    fn names_subject(
        &self,
        repo: &Repository,
        entry: &Descriptor,
        subject: &Digest,
    ) -> Result<bool> {
        if !media_types::is_index(&entry.media_type)
            && !media_types::is_image_manifest(&entry.media_type)
        {
            return Ok(false);
        }
        match self.get_manifest(repo, &entry.digest.to_string()) {
            Ok(m) => Ok(m.subject().is_some_and(|s| &s.digest == subject)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// `found`, what the fallback tag of `subject` holds, as an index when it
/// can be a referrers index (an OCI index that is not `subject` itself);
/// else why not.
fn fallback_index<'m>(
    found: &'m Manifest,
    subject: &Digest,
) -> std::result::Result<&'m ImageIndex, String> {
    if found.digest() == subject {
        return Err("is the subject itself".to_owned());
    }
    match found.content() {
        ManifestContent::Index(i) if found.media_type() == media_types::OCI_INDEX => Ok(i),
        _ => Err(format!("holds a {}", found.media_type())),
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
                Ok(m) => match fallback_index(&m, subject) {
                    Ok(found) => {
                        let mut index = found.clone();
                        index.manifests =
                            self.naming_subject(repo, &tag, &found.manifests, subject)?;
                        index
                    }
                    Err(why) => {
                        note(format!(
                            "{repo}:{tag} {why}, not a referrers index for {subject}: \
                             replaced by a new referrers index"
                        ));
                        ImageIndex::oci(Vec::new())
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

//! Manifests on a registry: get, head, put, delete.

use ureq::http::{header, Method};

use super::http::{header_str, status_error, Call};
use super::{Client, Repository};
use crate::auth::Scope;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Manifest;
use crate::media_types;
use crate::progress::report_retry;

/// The media type a reply declares, when it is one of the manifest types.
fn declared_type(content_type: Option<&str>) -> Option<String> {
    let media_type = content_type?.split(';').next()?.trim();
    (media_types::MANIFEST_TYPES.contains(&media_type) || media_types::is_schema1(media_type))
        .then(|| media_type.to_owned())
}

fn header_digest(value: Option<&str>, url: &str) -> Result<Option<Digest>> {
    value
        .map(|v| {
            v.trim().parse::<Digest>().map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!(
                        "{url}: the registry sent a malformed Docker-Content-Digest ({})",
                        e.message()
                    ),
                )
            })
        })
        .transpose()
}

impl Client {
    fn manifest_call(
        &self,
        method: Method,
        base: &str,
        repo: &Repository,
        reference: &str,
    ) -> Call<'static> {
        Call::new(
            method,
            format!("{base}/v2/{}/manifests/{reference}", repo.name),
            vec![Scope::repository(&repo.name, &["pull"])],
        )
        .header(header::ACCEPT, media_types::MANIFEST_TYPES.join(", "))
    }

    /// The manifest `reference` (a tag or a digest) names, as raw bytes with
    /// its media type and digest. The digest is checked against the reference
    /// and against `Docker-Content-Digest` when the registry sends one.
    pub fn get_manifest(&self, repo: &Repository, reference: &str) -> Result<Manifest> {
        let endpoint = self.endpoint(&repo.registry)?;
        let call = self.manifest_call(Method::GET, &endpoint.base, repo, reference);
        // A connection dropped mid-body is tried again, as one dropped
        // before the reply (the body is small and the request repeatable).
        let mut attempt = 0;
        let (declared, sent, raw) = loop {
            let response = self.expect(&endpoint, &call, &[200])?;
            let declared = declared_type(header_str(&response, "content-type"));
            let sent = header_digest(header_str(&response, "docker-content-digest"), &call.url)?;
            match self.read_body(&call, response, self.options().max_manifest_bytes) {
                Ok(raw) => break (declared, sent, raw),
                Err(e)
                    if e.kind() == ErrorKind::Network && attempt < self.options().max_retries =>
                {
                    attempt += 1;
                    report_retry(attempt, &e.to_string());
                    std::thread::sleep(self.backoff(attempt - 1));
                }
                Err(e) => return Err(e),
            }
        };
        let asked = reference.parse::<Digest>().ok();
        if let (Some(asked), Some(sent)) = (&asked, &sent) {
            if asked != sent {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("{repo}: asked for manifest {asked}, the registry says it sent {sent}"),
                ));
            }
        }
        match asked.or(sent) {
            Some(expected) => Manifest::from_bytes_verified(raw, declared.as_deref(), &expected),
            None => Manifest::from_bytes(raw, declared.as_deref()),
        }
        .map_err(|e| e.context(format!("manifest {reference} of {repo}")))
    }

    /// The descriptor of the manifest `reference` names, or `None` when the
    /// registry has no such manifest.
    pub fn head_manifest(&self, repo: &Repository, reference: &str) -> Result<Option<Descriptor>> {
        let endpoint = self.endpoint(&repo.registry)?;
        let call = self.manifest_call(Method::HEAD, &endpoint.base, repo, reference);
        let response = self.send(&endpoint, &call)?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            _ => return Err(status_error(&call.method, &call.url, response)),
        }
        let media_type = declared_type(header_str(&response, "content-type"));
        let digest = header_digest(header_str(&response, "docker-content-digest"), &call.url)?;
        let size = header_str(&response, "content-length").and_then(|v| v.parse::<u64>().ok());
        match (media_type, digest, size) {
            (Some(media_type), Some(digest), Some(size)) => {
                Ok(Some(Descriptor::new(&media_type, digest, size)))
            }
            // The registry did not describe it fully: fetch it.
            _ => self
                .get_manifest(repo, reference)
                .map(|m| Some(m.descriptor())),
        }
    }

    /// Stores `manifest` under `reference` (a tag, or its digest); returns its
    /// digest. The registry must confirm the same digest.
    pub fn put_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        manifest: &Manifest,
    ) -> Result<Digest> {
        self.push_manifest(repo, reference, manifest)
            .map(|_| manifest.digest().clone())
    }

    /// Stores `manifest` like [`put_manifest`](Self::put_manifest); returns
    /// the registry's `OCI-Subject` header, which a registry with the
    /// Referrers API sends when it recorded the manifest's subject.
    pub(super) fn push_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        manifest: &Manifest,
    ) -> Result<Option<String>> {
        let endpoint = self.endpoint(&repo.registry)?;
        let call = Call::new(
            Method::PUT,
            endpoint.url(&format!("/v2/{}/manifests/{reference}", repo.name)),
            vec![Scope::repository(&repo.name, &["pull", "push"])],
        )
        .header(header::CONTENT_TYPE, manifest.media_type())
        .body(manifest.raw());
        let response = self.expect(&endpoint, &call, &[200, 201])?;
        if let Some(sent) =
            header_digest(header_str(&response, "docker-content-digest"), &call.url)?
        {
            if &sent != manifest.digest() {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!(
                        "{repo}: pushed manifest {}, the registry stored {sent}",
                        manifest.digest()
                    ),
                ));
            }
        }
        Ok(header_str(&response, "oci-subject").map(str::to_owned))
    }

    /// Deletes the manifest with `digest` (and with it every tag pointing to it).
    pub fn delete_manifest(&self, repo: &Repository, digest: &Digest) -> Result<()> {
        let endpoint = self.endpoint(&repo.registry)?;
        let call = Call::new(
            Method::DELETE,
            endpoint.url(&format!("/v2/{}/manifests/{digest}", repo.name)),
            vec![Scope::repository(&repo.name, &["delete"])],
        );
        self.expect(&endpoint, &call, &[200, 202]).map(drop)
    }
}

//! Blobs on a registry: existence, streamed download resumed by `Range` when a
//! connection drops, monolithic and chunked upload, cross-repository mount.

use std::io::{self, Read};
use std::sync::Arc;

use ureq::http::{header, Method};

use super::endpoint::Endpoint;
use super::http::{answered_by, header_str, resolve, status_error, with_query, Call};
use super::rate::MinRate;
use super::{Client, Repository};
use crate::auth::Scope;
use crate::descriptor::Descriptor;
use crate::digest::{Digest, VerifyingReader};
use crate::error::{from_io, Error, ErrorKind, Result};
use crate::progress::report_retry;

/// Blobs up to this size go in one request, from memory (so it can be retried);
/// larger ones stream in chunks.
const MONOLITHIC_MAX: u64 = 1024 * 1024;

/// An upload session the registry opened: where to send the content.
#[derive(Debug, Clone)]
pub struct UploadSession {
    location: String,
    min_chunk: u64,
}

/// What a cross-repository mount did.
#[derive(Debug)]
pub enum MountResult {
    /// The registry linked the blob; nothing needs uploading.
    Mounted,
    /// The registry declined and opened an upload session instead.
    NotMounted(UploadSession),
}

/// A blob download that resumes where it stopped when the connection drops.
/// Yields the bytes as sent; [`Client::get_blob`] wraps it in a verifier.
pub struct BlobReader {
    client: Client,
    endpoint: Arc<Endpoint>,
    url: String,
    scopes: Vec<Scope>,
    body: Option<MinRate<ureq::BodyReader<'static>>>,
    offset: u64,
    size: u64,
    resumes_left: u32,
}

impl BlobReader {
    /// Requests the blob from `offset` on and keeps the reply's body.
    fn open(&mut self) -> Result<()> {
        let mut call = Call::new(Method::GET, self.url.clone(), self.scopes.clone());
        if self.offset > 0 {
            call = call.header(header::RANGE, format!("bytes={}-", self.offset));
        }
        let response = self.client.send(&self.endpoint, &call)?;
        let status = response.status().as_u16();
        if !(status == 200 || (status == 206 && self.offset > 0)) {
            return Err(status_error(&call.method, &call.url, response));
        }
        let mut body = response.into_body().into_reader();
        if status == 200 && self.offset > 0 {
            // The server ignored the range: skip what we already have.
            let skipped =
                io::copy(&mut (&mut body).take(self.offset), &mut io::sink()).map_err(|e| {
                    Error::new(ErrorKind::Network, format!("resuming {}: {e}", self.url))
                })?;
            if skipped != self.offset {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("resuming {}: the blob ended early", self.url),
                ));
            }
        }
        self.body = Some(self.client.guarded(body));
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.body.is_none() {
                self.open()?;
            }
            let Some(body) = self.body.as_mut() else {
                continue;
            };
            match body.read(buf) {
                Ok(0) if self.offset < self.size && self.resumes_left > 0 => {}
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if self.offset < self.size && self.resumes_left > 0 => {}
                // The registry failed us, not the disk: a network error.
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Network,
                        format!(
                            "GET {}: the download stopped at byte {} of {}: {e}",
                            self.url, self.offset, self.size
                        ),
                    )
                    .into())
                }
            }
            // The connection dropped mid-blob: ask for the rest.
            self.resumes_left -= 1;
            self.body = None;
            report_retry(
                self.client.options().max_retries - self.resumes_left,
                &format!("the download stopped at byte {}; resuming", self.offset),
            );
        }
    }
}

/// The upload session's URL with `digest=<digest>` added to its query.
fn with_digest(location: &str, digest: &Digest) -> Result<String> {
    with_query(location, &[("digest", &digest.to_string())])
}

impl Client {
    fn push_scopes(repo: &Repository) -> Vec<Scope> {
        vec![Scope::repository(&repo.name, &["pull", "push"])]
    }

    /// The size of the blob if the repository has it (`HEAD`), else `None`.
    pub fn blob_size(&self, repo: &Repository, digest: &Digest) -> Result<Option<u64>> {
        let endpoint = self.endpoint(&repo.registry)?;
        let call = Call::new(
            Method::HEAD,
            endpoint.url(&format!("/v2/{}/blobs/{digest}", repo.name)),
            vec![Scope::repository(&repo.name, &["pull"])],
        );
        let response = self.send(&endpoint, &call)?;
        match response.status().as_u16() {
            200 => {
                self.remember_blob(repo, digest);
                Ok(Some(
                    header_str(&response, "content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                ))
            }
            404 => Ok(None),
            _ => Err(status_error(&call.method, &call.url, response)),
        }
    }

    /// The blob `descriptor`, streamed: the reader fails instead of ending when
    /// the content does not match the digest or size. A dropped connection is
    /// resumed with a `Range` request, up to `max_retries` times.
    pub fn get_blob(
        &self,
        repo: &Repository,
        descriptor: &Descriptor,
    ) -> Result<VerifyingReader<BlobReader>> {
        let endpoint = self.endpoint(&repo.registry)?;
        let mut reader = BlobReader {
            client: self.clone(),
            url: endpoint.url(&format!("/v2/{}/blobs/{}", repo.name, descriptor.digest)),
            endpoint,
            scopes: vec![Scope::repository(&repo.name, &["pull"])],
            body: None,
            offset: 0,
            size: descriptor.size,
            resumes_left: self.options().max_retries,
        };
        reader.open()?;
        Ok(VerifyingReader::new(
            reader,
            descriptor.digest.clone(),
            Some(descriptor.size),
        ))
    }

    fn start_upload(&self, endpoint: &Endpoint, repo: &Repository) -> Result<UploadSession> {
        let call = Call::new(
            Method::POST,
            endpoint.url(&format!("/v2/{}/blobs/uploads/", repo.name)),
            Self::push_scopes(repo),
        );
        let response = self.expect(endpoint, &call, &[202])?;
        session_from(&call, &response)
    }

    /// Asks the registry to link `digest` from repository `from` (same
    /// registry) into `repo`. A registry that declines opens an upload
    /// session instead, returned for [`upload_blob`](Self::upload_blob).
    pub fn mount_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        from: &str,
    ) -> Result<MountResult> {
        let endpoint = self.endpoint(&repo.registry)?;
        let mut scopes = Self::push_scopes(repo);
        scopes.push(Scope::repository(from, &["pull"]));
        let call = Call::new(
            Method::POST,
            endpoint.url(&format!(
                "/v2/{}/blobs/uploads/?mount={digest}&from={from}",
                repo.name
            )),
            scopes,
        );
        let response = self.expect(&endpoint, &call, &[201, 202])?;
        if response.status().as_u16() == 201 {
            self.remember_blob(repo, digest);
            Ok(MountResult::Mounted)
        } else {
            session_from(&call, &response).map(MountResult::NotMounted)
        }
    }

    /// Uploads the blob `descriptor` from `content`, verifying it on the way:
    /// up to 1 MiB in one request, larger blobs streamed in chunks of
    /// `chunk_size` (or the registry's minimum, if larger), never held in
    /// memory. A failed upload's session is cancelled.
    pub fn upload_blob(
        &self,
        repo: &Repository,
        descriptor: &Descriptor,
        content: &mut dyn Read,
        session: Option<UploadSession>,
    ) -> Result<()> {
        let mut verified =
            VerifyingReader::new(content, descriptor.digest.clone(), Some(descriptor.size));
        self.upload_verified_blob(repo, descriptor, &mut verified, session)
    }

    /// Uploads like [`upload_blob`](Self::upload_blob) from content that
    /// verifies itself (as [`get_blob`](Self::get_blob)'s reader does), without
    /// hashing it again.
    pub fn upload_verified_blob(
        &self,
        repo: &Repository,
        descriptor: &Descriptor,
        content: &mut dyn Read,
        session: Option<UploadSession>,
    ) -> Result<()> {
        let endpoint = self.endpoint(&repo.registry)?;
        let session = match session {
            Some(s) => s,
            None => self.start_upload(&endpoint, repo)?,
        };
        let mut location = session.location.clone();
        let result = self.send_content(
            &endpoint,
            repo,
            descriptor,
            content,
            &session,
            &mut location,
        );
        if result.is_ok() {
            self.remember_blob(repo, &descriptor.digest);
        } else {
            self.cancel_upload(
                repo,
                UploadSession {
                    location,
                    ..session
                },
            );
        }
        result
    }

    /// Cancels an upload session, best effort: the registry expires abandoned
    /// sessions anyway, and a failure here must not hide the one that led to it.
    pub fn cancel_upload(&self, repo: &Repository, session: UploadSession) {
        if let Ok(endpoint) = self.endpoint(&repo.registry) {
            let cancel =
                Call::new(Method::DELETE, session.location, Self::push_scopes(repo)).no_retry();
            let _ = self.send(&endpoint, &cancel);
        }
    }

    fn send_content(
        &self,
        endpoint: &Endpoint,
        repo: &Repository,
        descriptor: &Descriptor,
        content: &mut dyn Read,
        session: &UploadSession,
        location: &mut String,
    ) -> Result<()> {
        let chunk = self.options().chunk_size.max(session.min_chunk).max(1);
        let verified = content;
        let read_err = |e| from_io(format!("reading blob {}", descriptor.digest), e);
        let mut body = Vec::new();
        if descriptor.size <= MONOLITHIC_MAX {
            verified.read_to_end(&mut body).map_err(read_err)?;
        } else {
            // Chunks stream from the source with their exact length: no
            // chunk is ever held in memory.
            let mut offset = 0u64;
            while offset < descriptor.size {
                let n = chunk.min(descriptor.size - offset);
                let call = Call::new(Method::PATCH, location.clone(), Self::push_scopes(repo))
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(
                        header::CONTENT_RANGE,
                        format!("{offset}-{}", offset + n - 1),
                    );
                let mut part = (&mut *verified).take(n);
                let response = self.send_stream(endpoint, &call, &mut part, n)?;
                if response.status().as_u16() != 202 {
                    return Err(status_error(&call.method, &call.url, response));
                }
                *location = session_from(&call, &response)?.location;
                offset += n;
            }
            // The content must end here; reading its end runs its verification.
            if verified.read(&mut [0u8; 1]).map_err(read_err)? != 0 {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!(
                        "blob {} is longer than its announced size",
                        descriptor.digest
                    ),
                ));
            }
        }
        let call = Call::new(
            Method::PUT,
            with_digest(location, &descriptor.digest)?,
            Self::push_scopes(repo),
        )
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(&body);
        let response = self.expect(endpoint, &call, &[201])?;
        if let Some(sent) = header_str(&response, "docker-content-digest") {
            if sent.trim() != descriptor.digest.to_string() {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!(
                        "{repo}: uploaded blob {}, the registry stored {sent}",
                        descriptor.digest
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn session_from(call: &Call, response: &ureq::http::Response<ureq::Body>) -> Result<UploadSession> {
    let location = header_str(response, "location").ok_or_else(|| {
        Error::new(
            ErrorKind::Network,
            format!(
                "{} {}: the registry opened an upload without a Location",
                call.method,
                call.url.split('?').next().unwrap_or("")
            ),
        )
    })?;
    Ok(UploadSession {
        location: resolve(answered_by(response, &call.url), location)?,
        min_chunk: header_str(response, "oci-chunk-min-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    })
}

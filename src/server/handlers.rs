//! The operations of the API on a [`Registry`]: pull, push (monolithic,
//! chunked, mount), content discovery (tags, referrers, catalog) and
//! deletion, each answering as the distribution spec says.

use std::collections::HashMap;
use std::io::{self, Read};

use serde_json::json;

use super::access::{Access, Action, Refusal};
use super::reply::{codes, ApiError, Body, Reply};
use super::routes::{self, Route};
use super::storage::Storage;
use super::uploads::{lock, Uploads};
use crate::digest::Digest;
use crate::manifest::{Manifest, ManifestContent};
use crate::media_types;
use crate::reference::{validate_repository, validate_tag_name};

/// The largest manifest the server accepts, as registries commonly do.
pub const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Put,
    Post,
    Patch,
    Delete,
    Other,
}

/// A request, as the handlers see it.
pub struct Incoming<'a> {
    pub method: Method,
    /// The percent-decoded path.
    pub path: String,
    /// The query parameters, decoded.
    pub query: HashMap<String, String>,
    /// The headers, by lowercase name.
    pub headers: HashMap<String, String>,
    pub body: &'a mut dyn Read,
    /// The body's length, when the client said it.
    pub length: Option<u64>,
}

impl Incoming<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A registry: its storage, its upload sessions and its access policy.
pub struct Registry {
    pub storage: Storage,
    pub uploads: Uploads,
    pub access: Access,
}

type Answer = Result<Reply, ApiError>;

fn parse_digest(s: &str) -> Result<Digest, ApiError> {
    s.parse()
        .map_err(|e: crate::Error| codes::digest_invalid(e.message()))
}

/// `Range: 0-END` for an upload holding `offset` bytes.
fn upload_range(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

fn upload_location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// Parses a `Content-Range` of a chunk: `START-END` (or `bytes START-END`).
pub(super) fn chunk_range(value: &str) -> Option<(u64, u64)> {
    let value = value
        .trim()
        .trim_start_matches("bytes")
        .trim_start_matches([' ', '=']);
    let (start, end) = value.split_once('-')?;
    Some((start.trim().parse().ok()?, end.trim().parse().ok()?))
}

/// Parses `Range: bytes=START-[END]` against a blob of `size` bytes.
pub(super) fn byte_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = match end.trim() {
        "" => size.checked_sub(1)?,
        e => e.parse::<u64>().ok()?.min(size.checked_sub(1)?),
    };
    (start <= end && start < size).then_some((start, end))
}

/// Paginates a sorted list by `n` and `last`; returns the page and, when
/// more follow, the `Link` header to the next page.
fn paginate(
    mut items: Vec<String>,
    query: &HashMap<String, String>,
    base: &str,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    if let Some(last) = query.get("last") {
        items.retain(|i| i.as_str() > last.as_str());
    }
    let Some(n) = query.get("n") else {
        return Ok((items, None));
    };
    let n: usize = n
        .parse()
        .map_err(|_| ApiError::new(400, "PAGINATION_NUMBER_INVALID", "n must be a number"))?;
    if items.len() <= n {
        return Ok((items, None));
    }
    items.truncate(n);
    let link = items
        .last()
        .map(|last| format!("<{base}?n={n}&last={last}>; rel=\"next\""));
    Ok((items, link))
}

impl Registry {
    /// Answers one request.
    pub fn handle(&self, request: &mut Incoming) -> Reply {
        match self.dispatch(request) {
            Ok(reply) => reply,
            Err(e) => e.reply(),
        }
    }

    fn dispatch(&self, req: &mut Incoming) -> Answer {
        let route = match routes::parse(&req.path) {
            Some(route) => route?,
            None => return Err(ApiError::new(404, "NOT_FOUND", "not an API path")),
        };
        let user = self
            .access
            .authenticate(req.header("authorization"))
            .map_err(refusal)?;
        let action = match (&route, req.method) {
            (Route::Uploads(_) | Route::Upload(..), _) => Action::Push,
            (_, Method::Get | Method::Head) => Action::Pull,
            (_, Method::Delete) => Action::Delete,
            _ => Action::Push,
        };
        self.access
            .authorize(user.as_deref(), route.repository(), action)
            .map_err(refusal)?;
        let head = req.method == Method::Head;
        match (route, req.method) {
            (Route::Base, Method::Get | Method::Head) => Ok(Reply::json(200, &json!({}))),
            (Route::Catalog, Method::Get) => self.catalog(req),
            (Route::Tags(name), Method::Get) => self.tags(req, &name),
            (Route::Manifest(name, r), Method::Get | Method::Head) => {
                self.get_manifest(&name, &r, head)
            }
            (Route::Manifest(name, r), Method::Put) => self.put_manifest(req, &name, &r),
            (Route::Manifest(name, r), Method::Delete) => self.delete_manifest(&name, &r),
            (Route::Blob(name, d), Method::Get | Method::Head) => {
                self.get_blob(req, &name, &d, head)
            }
            (Route::Blob(name, d), Method::Delete) => self.delete_blob(&name, &d),
            (Route::Uploads(name), Method::Post) => self.start_upload(req, &name, user.as_deref()),
            (Route::Upload(name, id), Method::Patch) => self.patch_upload(req, &name, &id),
            (Route::Upload(name, id), Method::Put) => self.finish_upload(req, &name, &id),
            (Route::Upload(name, id), Method::Get) => self.upload_status(&name, &id),
            (Route::Upload(name, id), Method::Delete) => self.cancel_upload(&name, &id),
            (Route::Referrers(name, d), Method::Get) => self.referrers(req, &name, &d),
            _ => Err(codes::unsupported(format!(
                "this method is not supported on {}",
                req.path
            ))),
        }
    }

    fn catalog(&self, req: &Incoming) -> Answer {
        let (repositories, link) =
            paginate(self.storage.repositories()?, &req.query, "/v2/_catalog")?;
        let reply = Reply::json(200, &json!({ "repositories": repositories }));
        Ok(match link {
            Some(link) => reply.header("Link", link),
            None => reply,
        })
    }

    fn tags(&self, req: &Incoming, name: &str) -> Answer {
        if !self.storage.repo_exists(name)? {
            return Err(codes::name_unknown(name));
        }
        let base = format!("/v2/{name}/tags/list");
        let (tags, link) = paginate(self.storage.tags(name)?, &req.query, &base)?;
        let reply = Reply::json(200, &json!({ "name": name, "tags": tags }));
        Ok(match link {
            Some(link) => reply.header("Link", link),
            None => reply,
        })
    }

    /// The digest a manifest reference names in `name`.
    fn manifest_digest(&self, name: &str, reference: &str) -> Result<Digest, ApiError> {
        if reference.contains(':') {
            return parse_digest(reference);
        }
        if validate_tag_name(reference).is_err() {
            return Err(codes::manifest_unknown(reference));
        }
        match self.storage.resolve_tag(name, reference)? {
            Some(digest) => Ok(digest),
            None if !self.storage.repo_exists(name)? => Err(codes::name_unknown(name)),
            None => Err(codes::manifest_unknown(format!("{name}:{reference}"))),
        }
    }

    fn get_manifest(&self, name: &str, reference: &str, head: bool) -> Answer {
        let digest = self.manifest_digest(name, reference)?;
        let media_type = self
            .storage
            .manifest_type(name, &digest)?
            .ok_or_else(|| codes::manifest_unknown(&digest))?;
        let bytes = self.storage.manifest_bytes(&digest)?;
        let mut reply = Reply::bytes(200, &media_type, Vec::new())
            .header("Docker-Content-Digest", digest.to_string())
            .header("ETag", format!("\"{digest}\""));
        reply.body = if head {
            Body::Stream(Box::new(io::empty()), bytes.len() as u64)
        } else {
            Body::Bytes(bytes)
        };
        Ok(reply)
    }

    fn put_manifest(&self, req: &mut Incoming, name: &str, reference: &str) -> Answer {
        if req.length.is_some_and(|l| l > MANIFEST_LIMIT) {
            return Err(codes::size_invalid(
                413,
                format!("manifests are limited to {MANIFEST_LIMIT} bytes"),
            ));
        }
        let mut raw = Vec::new();
        req.body
            .take(MANIFEST_LIMIT + 1)
            .read_to_end(&mut raw)
            .map_err(|e| codes::manifest_invalid(format!("reading the manifest: {e}")))?;
        if raw.len() as u64 > MANIFEST_LIMIT {
            return Err(codes::size_invalid(
                413,
                format!("manifests are limited to {MANIFEST_LIMIT} bytes"),
            ));
        }
        let content_type = req
            .header("content-type")
            .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
            .filter(|c| media_types::MANIFEST_TYPES.contains(&c.as_str()));
        let (manifest, tag) = if reference.contains(':') {
            let digest = parse_digest(reference)?;
            let manifest = Manifest::from_bytes_verified(raw, content_type.as_deref(), &digest)
                .map_err(|e| match e.kind() {
                    crate::ErrorKind::DigestMismatch => codes::digest_invalid(e.message()),
                    _ => codes::manifest_invalid(e.message()),
                })?;
            (manifest, None)
        } else {
            validate_tag_name(reference).map_err(|e| codes::manifest_invalid(e.message()))?;
            let manifest = Manifest::from_bytes(raw, content_type.as_deref())
                .map_err(|e| codes::manifest_invalid(e.message()))?;
            (manifest, Some(reference))
        };
        self.check_references(name, &manifest)?;
        self.storage.put_manifest(name, &manifest, tag)?;
        let digest = manifest.digest().to_string();
        let mut reply = Reply::empty(201)
            .header("Location", format!("/v2/{name}/manifests/{digest}"))
            .header("Docker-Content-Digest", digest);
        if let Some(subject) = manifest.subject() {
            reply = reply.header("OCI-Subject", subject.digest.to_string());
        }
        Ok(reply)
    }

    /// Every blob and child manifest a manifest names must be in the
    /// repository (blobs with external `urls` excepted).
    fn check_references(&self, name: &str, manifest: &Manifest) -> Result<(), ApiError> {
        match manifest.content() {
            ManifestContent::Image(image) => {
                for blob in std::iter::once(&image.config).chain(&image.layers) {
                    if !blob.urls.is_empty() {
                        continue;
                    }
                    match self.storage.blob_in(name, &blob.digest)? {
                        None => return Err(codes::manifest_blob_unknown(&blob.digest)),
                        Some(size) if size != blob.size => {
                            return Err(codes::manifest_invalid(format!(
                                "blob {} has {size} bytes, but the manifest says {}",
                                blob.digest, blob.size
                            )))
                        }
                        Some(_) => {}
                    }
                }
            }
            ManifestContent::Index(index) => {
                for entry in &index.manifests {
                    if self.storage.manifest_type(name, &entry.digest)?.is_none() {
                        return Err(codes::manifest_blob_unknown(&entry.digest));
                    }
                }
            }
        }
        Ok(())
    }

    fn delete_manifest(&self, name: &str, reference: &str) -> Answer {
        let found = if reference.contains(':') {
            self.storage
                .delete_manifest(name, &parse_digest(reference)?)?
        } else {
            validate_tag_name(reference).map_err(|e| codes::manifest_invalid(e.message()))?;
            self.storage.delete_tag(name, reference)?
        };
        if !found {
            return Err(codes::manifest_unknown(format!("{name}:{reference}")));
        }
        Ok(Reply::empty(202))
    }

    fn get_blob(&self, req: &Incoming, name: &str, digest: &str, head: bool) -> Answer {
        let digest = parse_digest(digest)?;
        let size = self
            .storage
            .blob_in(name, &digest)?
            .ok_or_else(|| codes::blob_unknown(&digest))?;
        if let (false, Some(url)) = (head, self.storage.redirect(&digest)) {
            return Ok(Reply::empty(307)
                .header("Location", url)
                .header("Docker-Content-Digest", digest.to_string()));
        }
        let (status, start, length) = match req.header("range") {
            Some(range) => {
                let (start, end) = byte_range(range, size).ok_or_else(|| {
                    ApiError::new(416, "BLOB_UNKNOWN", "the range is not satisfiable")
                        .header("Content-Range", format!("bytes */{size}"))
                })?;
                (206, start, end - start + 1)
            }
            None => (200, 0, size),
        };
        let body = if head {
            Body::Stream(Box::new(io::empty()), length)
        } else {
            let stream = self.storage.blobs.open_from(&digest, start)?.take(length);
            Body::Stream(Box::new(stream), length)
        };
        let mut reply = Reply {
            status,
            headers: vec![
                ("Content-Type", "application/octet-stream".to_owned()),
                ("Docker-Content-Digest", digest.to_string()),
                ("Accept-Ranges", "bytes".to_owned()),
            ],
            body,
        };
        if status == 206 {
            reply = reply.header(
                "Content-Range",
                format!("bytes {start}-{}/{size}", start + length - 1),
            );
        }
        Ok(reply)
    }

    fn delete_blob(&self, name: &str, digest: &str) -> Answer {
        let digest = parse_digest(digest)?;
        if !self.storage.unlink_blob(name, &digest)? {
            return Err(codes::blob_unknown(&digest));
        }
        Ok(Reply::empty(202))
    }

    fn blob_created(name: &str, digest: &Digest) -> Reply {
        Reply::empty(201)
            .header("Location", format!("/v2/{name}/blobs/{digest}"))
            .header("Docker-Content-Digest", digest.to_string())
    }

    fn start_upload(&self, req: &mut Incoming, name: &str, user: Option<&str>) -> Answer {
        if let Some(mount) = req.query.get("mount") {
            let digest = parse_digest(mount)?;
            let known = match req.query.get("from") {
                Some(from) => {
                    validate_repository(from).map_err(|e| codes::name_invalid(e.message()))?;
                    match self.access.authorize(user, from, Action::Pull) {
                        Ok(()) => self.storage.blob_in(from, &digest)?,
                        Err(_) => None,
                    }
                }
                None => self.storage.blobs.stat(&digest)?,
            };
            if known.is_some() {
                self.storage.link_blob(name, &digest)?;
                return Ok(Self::blob_created(name, &digest));
            }
        }
        let (id, session) = self
            .uploads
            .start(name)?
            .ok_or_else(|| codes::too_many("too many uploads are open; try again later"))?;
        if let Some(digest) = req.query.get("digest").cloned() {
            let appended = lock(&session).append(req.body, req.length);
            if let Err(e) = appended {
                self.uploads.remove(&id);
                return Err(append_error(e));
            }
            return self.commit(name, &id, &digest);
        }
        Ok(Reply::empty(202)
            .header("Location", upload_location(name, &id))
            .header("Range", upload_range(0))
            .header("Docker-Upload-UUID", id))
    }

    /// Appends the request's body to upload `id`, checking its
    /// `Content-Range` against what was received; returns the new offset.
    fn append(&self, req: &mut Incoming, name: &str, id: &str) -> Result<u64, ApiError> {
        let session = self
            .uploads
            .get(name, id)?
            .ok_or_else(codes::upload_unknown)?;
        let mut session = lock(&session);
        if let Some(range) = req.header("content-range") {
            let out_of_order = match chunk_range(range) {
                Some((start, end)) => {
                    start != session.offset
                        || end < start
                        || req.length.is_some_and(|l| l != end - start + 1)
                }
                None => true,
            };
            if out_of_order {
                return Err(codes::upload_invalid(
                    416,
                    format!(
                        "the chunk {range:?} does not continue the upload, which has {} bytes",
                        session.offset
                    ),
                )
                .header("Location", upload_location(name, id))
                .header("Range", upload_range(session.offset)));
            }
        }
        if let Err(e) = session.append(req.body, req.length) {
            drop(session);
            if e.kind() == io::ErrorKind::FileTooLarge {
                self.uploads.remove(id);
            }
            return Err(append_error(e));
        }
        Ok(session.offset)
    }

    fn patch_upload(&self, req: &mut Incoming, name: &str, id: &str) -> Answer {
        let offset = self.append(req, name, id)?;
        Ok(Reply::empty(202)
            .header("Location", upload_location(name, id))
            .header("Range", upload_range(offset))
            .header("Docker-Upload-UUID", id.to_owned()))
    }

    fn finish_upload(&self, req: &mut Incoming, name: &str, id: &str) -> Answer {
        let digest = req
            .query
            .get("digest")
            .cloned()
            .ok_or_else(|| codes::digest_invalid("the upload's final PUT names no digest"))?;
        self.append(req, name, id)?;
        self.commit(name, id, &digest)
    }

    /// Completes upload `id` as blob `digest`: verified, stored, linked.
    fn commit(&self, name: &str, id: &str, digest: &str) -> Answer {
        let outcome = (|| -> Result<Digest, ApiError> {
            let digest = parse_digest(digest)?;
            let session = self
                .uploads
                .get(name, id)?
                .ok_or_else(codes::upload_unknown)?;
            lock(&session).commit(&digest, &*self.storage.blobs)?;
            self.storage.link_blob(name, &digest)?;
            Ok(digest)
        })();
        self.uploads.remove(id);
        Ok(Self::blob_created(name, &outcome?))
    }

    fn upload_status(&self, name: &str, id: &str) -> Answer {
        let session = self
            .uploads
            .get(name, id)?
            .ok_or_else(codes::upload_unknown)?;
        let offset = lock(&session).offset;
        Ok(Reply::empty(204)
            .header("Location", upload_location(name, id))
            .header("Range", upload_range(offset))
            .header("Docker-Upload-UUID", id.to_owned()))
    }

    fn cancel_upload(&self, name: &str, id: &str) -> Answer {
        if self.uploads.get(name, id)?.is_none() || !self.uploads.remove(id) {
            return Err(codes::upload_unknown());
        }
        Ok(Reply::empty(204))
    }

    fn referrers(&self, req: &Incoming, name: &str, digest: &str) -> Answer {
        let digest = parse_digest(digest)?;
        let mut manifests = self.storage.referrers(name, &digest)?;
        let filter = req.query.get("artifactType");
        if let Some(kind) = filter {
            manifests.retain(|d| d.artifact_type.as_deref() == Some(kind.as_str()));
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": media_types::OCI_INDEX,
            "manifests": manifests,
        });
        let reply = Reply::bytes(200, media_types::OCI_INDEX, index.to_string().into_bytes());
        Ok(match filter {
            Some(_) => reply.header("OCI-Filters-Applied", "artifactType"),
            None => reply,
        })
    }
}

/// The answer to an upload's body that could not be appended: 413 past the
/// blob size limit (the upload is then gone); the store's own answer when
/// the store failed (an object store unreachable or throttling: 503 or
/// 429, so the client retries); else 400.
fn append_error(e: io::Error) -> ApiError {
    if e.kind() == io::ErrorKind::FileTooLarge {
        return codes::size_invalid(413, e.to_string());
    }
    let store = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<crate::error::Error>());
    match store {
        Some(store)
            if matches!(
                store.kind(),
                crate::ErrorKind::Network
                    | crate::ErrorKind::RateLimited
                    | crate::ErrorKind::Unauthorized
            ) =>
        {
            ApiError::from(store.clone())
        }
        _ => codes::upload_invalid(400, e.to_string()),
    }
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::Unauthenticated => codes::unauthorized(),
        Refusal::Denied(why) => codes::denied(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(byte_range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(byte_range("bytes=5-100", 10), Some((5, 9)));
        assert_eq!(byte_range("bytes=10-", 10), None);
        assert_eq!(byte_range("bytes=4-2", 10), None);
        assert_eq!(chunk_range("0-99"), Some((0, 99)));
        assert_eq!(chunk_range("bytes 5-9"), Some((5, 9)));
        assert_eq!(chunk_range("x"), None);
    }
}

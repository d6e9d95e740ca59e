//! The `docker-archive:PATH[:NAME:TAG|:@N]` transport: the tarball of
//! `docker save` — `manifest.json` listing each image's config and layer
//! files and its tags, and `repositories`.
//!
//! Reading, an image's manifest comes from the OCI layout the archive carries
//! beside `manifest.json` (as `docker save` does since Docker 25, and as
//! Stevedore writes), so its digest is kept; an archive without one gets the
//! manifest skopeo builds for it (Docker schema 2, layers uncompressed), so
//! both tools agree on its digest. Gzip-compressed layer files are read
//! uncompressed, as skopeo and `docker load` read them.
//!
//! Writing, blobs are stored as they are under `blobs/ALGORITHM/HEX`, with
//! `manifest.json`, `repositories`, `index.json` and `oci-layout`. The archive
//! appears whole when the copy finishes; until then `PATH` is untouched.
//!
//! The model of `manifest.json` is in `manifest_json`, reading an archive in
//! `read`, staging and writing one in `write`.

mod manifest_json;
mod read;
mod write;

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use flate2::read::MultiGzDecoder;

use super::tar_index::TarIndex;
use super::{ImageRef, Selector, Transport};
use crate::descriptor::Descriptor;
use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ManifestContent, MANIFEST_SIZE_MAX};
use crate::media_types;
use crate::reference::{Reference, DEFAULT_TAG};
use crate::store::Store;
use manifest_json::layout_file;
use read::ArchivedBlob;
use write::Staging;

/// A `docker save` tarball.
pub struct DockerArchive {
    path: PathBuf,
    source: Mutex<Option<Arc<TarIndex>>>,
    blobs: Mutex<HashMap<Digest, ArchivedBlob>>,
    manifests: Mutex<HashMap<Digest, Manifest>>,
    staging: Mutex<Option<Staging>>,
}

/// Parses the part after `docker-archive:`: `PATH`, `PATH:NAME[:TAG]` or
/// `PATH:@INDEX`.
pub(super) fn parse(rest: &str) -> Result<ImageRef> {
    let (path, spec) = super::split_location(
        rest,
        "docker-archive: needs a file, as in docker-archive:/images/app.tar or \
             docker-archive:/images/app.tar:app:1.0",
    )?;
    let selector = match spec {
        None => None,
        Some(spec) => Some(match spec.strip_prefix('@') {
            Some(n) => Selector::Index(n.parse().map_err(|_| {
                Error::invalid(format!(
                    "{spec:?} is not @N, the position of an image in the archive (from 0)"
                ))
            })?),
            None => Selector::Tag(tag_reference(spec)?.to_string()),
        }),
    };
    Ok(ImageRef::new(Arc::new(DockerArchive::new(path)), selector))
}

/// The normalised `NAME:TAG` an archive names an image by (`latest` when no
/// tag is given); a digest is refused.
fn tag_reference(spec: &str) -> Result<Reference> {
    let reference = Reference::parse(spec)
        .map_err(|e| e.context("a docker-archive image is named NAME:TAG"))?;
    if reference.digest().is_some() {
        return Err(Error::invalid(format!(
            "{spec:?}: a docker-archive image is named NAME:TAG, not by digest"
        )));
    }
    match reference.tag() {
        Some(_) => Ok(reference),
        None => reference.with_tag(DEFAULT_TAG),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl DockerArchive {
    /// The archive at `path` (read lazily; written when a copy into it finishes).
    pub fn new(path: impl Into<PathBuf>) -> DockerArchive {
        DockerArchive {
            path: path.into(),
            source: Mutex::new(None),
            blobs: Mutex::new(HashMap::new()),
            manifests: Mutex::new(HashMap::new()),
            staging: Mutex::new(None),
        }
    }

    fn tar(&self) -> Result<Arc<TarIndex>> {
        let mut source = lock(&self.source);
        if let Some(tar) = source.as_ref() {
            return Ok(Arc::clone(tar));
        }
        let tar = Arc::new(TarIndex::open(&self.path)?);
        *source = Some(Arc::clone(&tar));
        Ok(tar)
    }
}

impl Transport for DockerArchive {
    fn name(&self) -> String {
        format!("docker-archive:{}", self.path.display())
    }

    fn default_selector(&self) -> Result<Selector> {
        let tar = self.tar()?;
        let items = self.items(&tar)?;
        match items.len() {
            1 => Ok(Selector::Index(0)),
            0 => Err(Error::not_found(format!("{} holds no image", self.name()))),
            n => Err(Error::invalid(format!(
                "{} holds {n} images; name one as {}:NAME:TAG or {}:@N (tags: {})",
                self.name(),
                self.name(),
                self.name(),
                Self::tags_of(&items).join(", ")
            ))),
        }
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        let tar = self.tar()?;
        let Selector::Digest(digest) = selector else {
            let item = self.item(&tar, selector)?;
            return self.image_manifest(&tar, &item);
        };
        if let Some(manifest) = lock(&self.manifests).get(digest) {
            return Ok(manifest.clone());
        }
        let file = layout_file(digest);
        if tar.contains(&file) {
            let manifest = Manifest::from_bytes_verified(
                tar.read_small(&file, MANIFEST_SIZE_MAX)?,
                None,
                digest,
            )?;
            self.remember(&manifest);
            return Ok(manifest);
        }
        for item in self.items(&tar)? {
            let manifest = self.image_manifest(&tar, &item)?;
            if manifest.digest() == digest {
                return Ok(manifest);
            }
        }
        Err(Error::not_found(format!(
            "{} has no manifest {digest}",
            self.name()
        )))
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.stage_manifest(manifest)
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        let tag = tag.map(tag_reference).transpose()?;
        self.stage_manifest(manifest)?;
        self.with_staging(|staging| {
            if let Some(tag) = &tag {
                for (_, earlier) in staging.images.iter_mut() {
                    if earlier.as_ref() == Some(tag) {
                        *earlier = None;
                    }
                }
            }
            staging.images.push((manifest.clone(), tag));
            Ok(())
        })
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        if let Some(staging) = lock(&self.staging).as_ref() {
            if let Some(size) = staging.store.stat(digest)? {
                return Ok(Some(size));
            }
        }
        if let Some(blob) = lock(&self.blobs).get(digest) {
            return Ok(Some(blob.size));
        }
        match lock(&self.source).as_ref() {
            Some(tar) => Ok(tar.size(&layout_file(digest))),
            None => Ok(None),
        }
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let tar = self.tar()?;
        let blob = lock(&self.blobs)
            .get(&descriptor.digest)
            .cloned()
            .or_else(|| {
                let file = layout_file(&descriptor.digest);
                tar.size(&file).map(|size| ArchivedBlob {
                    file,
                    gzip: false,
                    size,
                })
            })
            .ok_or_else(|| {
                Error::not_found(format!(
                    "blob {} is missing from {}",
                    descriptor.digest,
                    self.name()
                ))
            })?;
        let section = tar.reader(&blob.file)?;
        let content: Box<dyn Read + Send> = if blob.gzip {
            Box::new(MultiGzDecoder::new(section))
        } else {
            Box::new(section)
        };
        Ok(Box::new(VerifyingReader::new(
            content,
            descriptor.digest.clone(),
            Some(descriptor.size),
        )))
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.with_staging(|staging| {
            staging
                .store
                .put(&descriptor.digest, Some(descriptor.size), content)
                .map(drop)
        })
    }

    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.with_staging(|staging| {
            staging
                .store
                .put_verified(&descriptor.digest, descriptor.size, content)
                .map(drop)
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        let tar = self.tar()?;
        Ok(Self::tags_of(&self.items(&tar)?))
    }

    fn delete(&self, _selector: &Selector) -> Result<()> {
        Err(Error::unsupported(format!(
            "images are not deleted from a docker-archive; write a new one without it ({})",
            self.path.display()
        )))
    }

    /// Writes the archive: every image this handle was given, complete.
    fn finalize(&self) -> Result<()> {
        match lock(&self.staging).as_ref() {
            Some(staging) if !staging.images.is_empty() => self
                .write(staging)
                .map_err(|e| e.context(format!("writing {}", self.name()))),
            _ => Ok(()),
        }
    }

    /// Nothing to clean at `PATH`, which is written only by `finalize`; the
    /// staged blobs go with the handle.
    fn abort(&self) {}

    fn conversion(&self, root: &Manifest) -> Option<String> {
        match root.content() {
            ManifestContent::Index(index) => Some(format!(
                "a docker-archive holds images, not indexes: the {} images of index {} are \
                 stored as separate entries of manifest.json (the index is kept in index.json)",
                index.manifests.len(),
                root.digest()
            )),
            ManifestContent::Image(image)
                if root.media_type() != media_types::DOCKER_MANIFEST
                    || image
                        .layers
                        .iter()
                        .any(|l| l.media_type != media_types::DOCKER_LAYER_GZIP) =>
            {
                Some(format!(
                    "docker load and skopeo read a docker-archive through manifest.json, \
                     rebuilding a Docker schema 2 manifest with uncompressed layers: to them \
                     the image's digest is not {} (stevedore reads the original from index.json)",
                    root.digest()
                ))
            }
            ManifestContent::Image(_) => None,
        }
    }
}

impl Drop for DockerArchive {
    fn drop(&mut self) {
        if let Some(staging) = lock(&self.staging).take() {
            // Best effort: a staging directory left behind is only clutter.
            let _ = staging.dir.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let r = parse("/a.tar:app:1.0").unwrap();
        assert_eq!(
            r.selector(),
            Some(&Selector::Tag("docker.io/library/app:1.0".to_owned()))
        );
        assert_eq!(
            parse("/a.tar:reg:5000/x").unwrap().selector(),
            Some(&Selector::Tag("reg:5000/x:latest".to_owned()))
        );
        assert_eq!(
            parse("/a.tar:@1").unwrap().selector(),
            Some(&Selector::Index(1))
        );
        assert_eq!(parse("/a.tar").unwrap().selector(), None);
        assert!(parse("").is_err());
        assert!(parse("/a.tar:@x").is_err());
        assert!(parse(
            "/a.tar:app@sha256:0123456789012345678901234567890123456789012345678901234567890123"
        )
        .is_err());
        assert!(parse("/a.tar:UPPER").is_err());
    }
}

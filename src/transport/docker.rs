//! The `docker://REFERENCE` transport: a repository on a registry.

use std::io::Read;
use std::sync::Arc;

use super::{ImageRef, Selector, Transport};
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Manifest;
use crate::reference::{Reference, DEFAULT_TAG};
use crate::registry::{Client, MountResult, Repository};

/// A repository on a registry, reached through a [`Client`].
pub struct DockerRegistry {
    client: Client,
    repo: Repository,
}

/// Parses the part after `docker:`: `//REFERENCE`.
pub(super) fn parse(rest: &str, client: &Client) -> Result<ImageRef> {
    let reference = rest.strip_prefix("//").ok_or_else(|| {
        Error::invalid(format!(
            "docker:{rest} must be written docker://REFERENCE, such as docker://registry.example/app:1.0"
        ))
    })?;
    let reference = Reference::parse(reference)?;
    let selector = match (reference.tag(), reference.digest()) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(format!(
                "docker://{reference} names both a tag and a digest; name one of them"
            )))
        }
        (_, Some(d)) => Some(Selector::Digest(d.clone())),
        (Some(t), None) => Some(Selector::Tag(t.to_owned())),
        (None, None) => None,
    };
    let transport = DockerRegistry {
        client: client.clone(),
        repo: Repository::of(&reference),
    };
    Ok(ImageRef::new(Arc::new(transport), selector))
}

fn reference_of(selector: &Selector) -> Result<String> {
    match selector {
        Selector::Tag(t) => Ok(t.clone()),
        Selector::Digest(d) => Ok(d.to_string()),
        Selector::Index(_) => Err(Error::invalid(
            "a registry names images by tag or digest, not by position",
        )),
    }
}

impl DockerRegistry {
    /// Runs `upload` as the one upload of the blob `descriptor` to this
    /// repository among the client's threads: registries (docker-registry
    /// 2.8 among them) can fail concurrent commits of one digest. A thread
    /// that had to wait finds the blob there and uploads nothing.
    fn one_upload_at_a_time(
        &self,
        descriptor: &Descriptor,
        upload: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let lock = self.client.upload_lock(&self.repo, &descriptor.digest);
        let _one = match lock.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                if self.client.blob_size(&self.repo, &descriptor.digest)? == Some(descriptor.size) {
                    return Ok(());
                }
                guard
            }
        };
        upload()
    }

    /// The error for `tag` not found (`e`): which tag, and a few that exist.
    fn missing_tag(&self, tag: &str, e: Error) -> Error {
        const SHOWN: usize = 10;
        let assumed = if tag == DEFAULT_TAG {
            " (the tag assumed when none is given)"
        } else {
            ""
        };
        let tags = match self.client.first_tags(&self.repo, SHOWN + 1) {
            Ok(tags) if tags.is_empty() => "; the repository has no tags".to_owned(),
            Ok(tags) if tags.len() > SHOWN => {
                format!("; its tags include {}, …", tags[..SHOWN].join(", "))
            }
            Ok(tags) => format!("; its tags: {}", tags.join(", ")),
            Err(_) => String::new(),
        };
        Error::not_found(format!("{} has no tag {tag:?}{assumed}{tags}", self.name()))
            .with_http_status(e.http_status().unwrap_or(404))
            .with_registry_errors(e.registry_errors().to_vec())
    }

    /// The registry client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The repository.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }
}

impl Transport for DockerRegistry {
    fn name(&self) -> String {
        format!("docker://{}", self.repo)
    }

    fn default_selector(&self) -> Result<Selector> {
        Ok(Selector::Tag(DEFAULT_TAG.to_owned()))
    }

    fn assumed_tag(&self) -> Option<String> {
        Some(DEFAULT_TAG.to_owned())
    }

    fn max_config_bytes(&self) -> u64 {
        self.client.options().max_config_bytes
    }

    /// A missing tag is named, with a few of the tags there are (not for
    /// the `sha256-…` tags of signatures and the referrers fallback, looked
    /// for where they may well be missing).
    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        let result = self
            .client
            .get_manifest(&self.repo, &reference_of(selector)?);
        match (result, selector) {
            (Err(e), Selector::Tag(tag))
                if e.kind() == ErrorKind::NotFound && !tag.starts_with("sha256-") =>
            {
                Err(self.missing_tag(tag, e))
            }
            (result, _) => result,
        }
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.client
            .put_manifest(&self.repo, &manifest.digest().to_string(), manifest)
            .map(drop)
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        let reference = tag.map_or_else(|| manifest.digest().to_string(), str::to_owned);
        self.client
            .put_manifest(&self.repo, &reference, manifest)
            .map(drop)
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        self.client.blob_size(&self.repo, digest)
    }

    /// Through the Referrers API, or the fallback tag where there is none.
    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        self.client
            .referrers(&self.repo, subject, artifact_type)
            .map(|(list, _)| list)
    }

    fn put_referrer(&self, manifest: &Manifest) -> Result<()> {
        self.client.put_referrer(&self.repo, manifest).map(drop)
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        Ok(Box::new(self.client.get_blob(&self.repo, descriptor)?))
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.one_upload_at_a_time(descriptor, || {
            self.client
                .upload_blob(&self.repo, descriptor, content, None)
        })
    }

    /// Content that verifies itself is not hashed a second time.
    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.one_upload_at_a_time(descriptor, || {
            self.client
                .upload_verified_blob(&self.repo, descriptor, content, None)
        })
    }

    /// Mounts from the source when it is another repository of this
    /// registry, else from wherever this client last saw the blob here.
    fn mount_blob(&self, descriptor: &Descriptor, source: &dyn Transport) -> Result<bool> {
        let from = match source.as_any().downcast_ref::<DockerRegistry>() {
            Some(src)
                if src.repo.registry == self.repo.registry && src.repo.name != self.repo.name =>
            {
                Some(src.repo.name.clone())
            }
            _ => {
                self.client
                    .known_location(&self.repo.registry, &descriptor.digest, &self.repo.name)
            }
        };
        match from {
            Some(from) => self.mount_from(descriptor, &from),
            None => Ok(false),
        }
    }

    fn registry_repository(&self) -> Option<(String, String)> {
        Some((self.repo.registry.clone(), self.repo.name.clone()))
    }

    fn blob_store_key(&self) -> String {
        format!("docker://{}", self.repo.registry)
    }

    fn mount_from(&self, descriptor: &Descriptor, from: &str) -> Result<bool> {
        match self
            .client
            .mount_blob(&self.repo, &descriptor.digest, from)?
        {
            MountResult::Mounted => Ok(true),
            MountResult::NotMounted(session) => {
                self.client.cancel_upload(&self.repo, session);
                Ok(false)
            }
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        self.client.list_tags(&self.repo, None)
    }

    /// Deletes the manifest; for a tag, the manifest it points to (which
    /// removes every tag of that manifest, as registries do).
    fn delete(&self, selector: &Selector) -> Result<()> {
        let digest = match selector {
            Selector::Digest(d) => d.clone(),
            Selector::Tag(_) | Selector::Index(_) => {
                let t = reference_of(selector)?;
                self.client
                    .head_manifest(&self.repo, &t)?
                    .ok_or_else(|| Error::not_found(format!("{} has no tag {t:?}", self.name())))?
                    .digest
            }
        };
        self.client.delete_manifest(&self.repo, &digest)
    }

    fn finalize(&self) -> Result<()> {
        Ok(())
    }

    fn abort(&self) {}
}

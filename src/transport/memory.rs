//! An in-memory image transport: manifests, tags and blobs held by the
//! process, for programs that build or inspect images without touching disk
//! or network, and for tests. Reachable from the Rust API only; a handle
//! shared through `Arc` is one image store.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Mutex, MutexGuard};

use super::{Selector, Transport};
use crate::descriptor::Descriptor;
use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::store::{MemoryStore, Store};

/// The manifests of an in-memory store and the images at its top.
#[derive(Default)]
struct Images {
    manifests: HashMap<Digest, Manifest>,
    /// Top-level images in the order written, each with its tag if any.
    top: Vec<(Option<String>, Digest)>,
}

/// Images held in memory.
#[derive(Default)]
pub struct Memory {
    images: Mutex<Images>,
    blobs: MemoryStore,
}

impl Memory {
    /// An empty store.
    pub fn new() -> Memory {
        Memory::default()
    }

    fn images(&self) -> MutexGuard<'_, Images> {
        self.images.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Transport for Memory {
    fn name(&self) -> String {
        "memory:".to_owned()
    }

    fn default_selector(&self) -> Result<Selector> {
        match self.images().top.as_slice() {
            [(_, digest)] => Ok(Selector::Digest(digest.clone())),
            [] => Err(Error::not_found("the in-memory store holds no image")),
            many => Err(Error::invalid(format!(
                "the in-memory store holds {} images; name one by tag or digest",
                many.len()
            ))),
        }
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        let images = self.images();
        let digest = match selector {
            Selector::Digest(d) => Some(d),
            Selector::Tag(t) => images
                .top
                .iter()
                .find(|(tag, _)| tag.as_ref() == Some(t))
                .map(|(_, d)| d),
            Selector::Index(n) => images.top.get(*n).map(|(_, d)| d),
        };
        digest
            .and_then(|d| images.manifests.get(d))
            .cloned()
            .ok_or_else(|| Error::not_found(format!("the in-memory store has no {selector}")))
    }

    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.images()
            .manifests
            .insert(manifest.digest().clone(), manifest.clone());
        Ok(())
    }

    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()> {
        let mut images = self.images();
        let digest = manifest.digest().clone();
        images.manifests.insert(digest.clone(), manifest.clone());
        let tag = tag.map(str::to_owned);
        images
            .top
            .retain(|(t, d)| (tag.is_some() && *t != tag) || (tag.is_none() && *d != digest));
        images.top.push((tag, digest));
        Ok(())
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        self.blobs.stat(digest)
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        Ok(Box::new(VerifyingReader::new(
            self.blobs.open(&descriptor.digest)?,
            descriptor.digest.clone(),
            Some(descriptor.size),
        )))
    }

    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.blobs
            .put(&descriptor.digest, Some(descriptor.size), content)
            .map(drop)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        let images = self.images();
        let mut out: Vec<Descriptor> = images
            .manifests
            .values()
            .filter(|m| m.subject().map(|s| &s.digest) == Some(subject))
            .map(Manifest::referrer_descriptor)
            .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)))
            .collect();
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    fn put_referrer(&self, manifest: &Manifest) -> Result<()> {
        self.put_child_manifest(manifest)
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        Ok(self
            .images()
            .top
            .iter()
            .filter_map(|(t, _)| t.clone())
            .collect())
    }

    /// Forgets the top-level image `selector` names (its blobs stay until
    /// the store is dropped).
    fn delete(&self, selector: &Selector) -> Result<()> {
        let mut images = self.images();
        let before = images.top.len();
        let mut position = 0;
        images.top.retain(|(tag, digest)| {
            let gone = match selector {
                Selector::Tag(t) => tag.as_ref() == Some(t),
                Selector::Digest(d) => digest == d,
                Selector::Index(n) => position == *n,
            };
            position += 1;
            !gone
        });
        if images.top.len() == before {
            return Err(Error::not_found(format!(
                "the in-memory store has no {selector}"
            )));
        }
        Ok(())
    }

    fn finalize(&self) -> Result<()> {
        Ok(())
    }

    fn abort(&self) {}
}

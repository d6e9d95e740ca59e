//! [`Staged`]: images held in memory served as a read-only transport, the
//! source of the copy that writes them.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use super::read::TransportBlobs;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{Blob, Image};
use crate::manifest::Manifest;
use crate::transport::{ImageRef, Selector, Transport};

/// A read-only transport over manifests and blobs assembled in memory: one
/// top-level manifest (an image's, or an index's), the manifests it lists,
/// and the blobs, each backed by a [`Blob`]. Blobs that live in another
/// transport name it as their origin, so a destination on the same registry
/// mounts them instead of receiving them.
pub struct Staged {
    root: Manifest,
    manifests: HashMap<Digest, Manifest>,
    blobs: HashMap<Digest, Blob>,
}

impl Staged {
    /// The transport serving `image`.
    pub fn image(image: &Image) -> Result<Staged> {
        let mut staged = Staged {
            root: image.manifest()?,
            manifests: HashMap::new(),
            blobs: HashMap::new(),
        };
        staged.add_image(image)?;
        Ok(staged)
    }

    /// The transport serving `index`, which lists `children`' manifests.
    pub fn index(index: Manifest, children: &[Image]) -> Result<Staged> {
        let mut staged = Staged {
            root: index,
            manifests: HashMap::new(),
            blobs: HashMap::new(),
        };
        for child in children {
            staged.add_image(child)?;
        }
        Ok(staged)
    }

    fn add_image(&mut self, image: &Image) -> Result<()> {
        let manifest = image.manifest()?;
        let config = image.config_bytes()?;
        self.blobs
            .insert(Digest::sha256(&config), Blob::Bytes(Arc::new(config)));
        for layer in image.layers() {
            self.blobs
                .entry(layer.descriptor.digest.clone())
                .or_insert_with(|| layer.blob.clone());
        }
        self.manifests.insert(manifest.digest().clone(), manifest);
        Ok(())
    }

    /// The top-level manifest.
    pub fn root(&self) -> &Manifest {
        &self.root
    }

    /// An image reference to the top-level manifest.
    pub fn into_ref(self) -> ImageRef {
        let selector = Selector::Digest(self.root.digest().clone());
        ImageRef::new(Arc::new(self), Some(selector))
    }
}

impl Transport for Staged {
    fn name(&self) -> String {
        "staged:".to_owned()
    }

    fn default_selector(&self) -> Result<Selector> {
        Ok(Selector::Digest(self.root.digest().clone()))
    }

    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        match selector {
            Selector::Digest(d) if d == self.root.digest() => Ok(self.root.clone()),
            Selector::Digest(d) => {
                self.manifests.get(d).cloned().ok_or_else(|| {
                    Error::not_found(format!("the staged image has no manifest {d}"))
                })
            }
            other => Err(Error::not_found(format!("the staged image has no {other}"))),
        }
    }

    fn put_child_manifest(&self, _: &Manifest) -> Result<()> {
        Err(Error::unsupported("a staged image is read-only"))
    }

    fn put_manifest(&self, _: &Manifest, _: Option<&str>) -> Result<()> {
        Err(Error::unsupported("a staged image is read-only"))
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        let _ = digest;
        Ok(None)
    }

    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        self.blobs
            .get(&descriptor.digest)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "the staged image has no blob {}",
                    descriptor.digest
                ))
            })?
            .open(descriptor)
    }

    fn put_blob(&self, _: &Descriptor, _: &mut dyn Read) -> Result<()> {
        Err(Error::unsupported("a staged image is read-only"))
    }

    fn blob_origin(&self, digest: &Digest) -> Option<&dyn Transport> {
        match self.blobs.get(digest)? {
            Blob::Source(source) => source
                .as_any()
                .downcast_ref::<TransportBlobs>()
                .map(|t| t.0.as_ref()),
            _ => None,
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn list_tags(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn delete(&self, _: &Selector) -> Result<()> {
        Err(Error::unsupported("a staged image is read-only"))
    }

    fn finalize(&self) -> Result<()> {
        Ok(())
    }

    fn abort(&self) {}
}

//! An image's layers as a [`LayerSource`], with the layer cache: a registry
//! layer is fetched once per call (into a temporary store, or once ever into
//! the caller's [`Store`]), verified by digest as always.

use std::io::Read;
use std::sync::{Arc, Mutex};

use crate::descriptor::Descriptor;
use crate::error::{Error, Result};
use crate::layer::LayerSource;
use crate::store::{FsStore, Store};
use crate::transport::{DockerRegistry, ImageRef};

/// The layers of one image of `image`'s transport.
pub struct ImageLayers {
    image: ImageRef,
    layers: Vec<Descriptor>,
    store: Option<Arc<dyn Store>>,
    remote: bool,
    temp: Mutex<Option<(tempfile::TempDir, Arc<FsStore>)>>,
}

impl ImageLayers {
    /// The layers `layers` of `image`; with `store`, blobs are kept there
    /// (and found there next time).
    pub fn new(image: ImageRef, layers: Vec<Descriptor>, store: Option<Arc<dyn Store>>) -> Self {
        let remote = image
            .transport()
            .as_any()
            .downcast_ref::<DockerRegistry>()
            .is_some();
        ImageLayers {
            image,
            layers,
            store,
            remote,
            temp: Mutex::new(None),
        }
    }

    /// The store to cache in: the caller's, or for a registry a temporary
    /// one that lives as long as `self`; `None` to read the transport directly.
    fn cache(&self) -> Result<Option<Arc<dyn Store>>> {
        if let Some(store) = &self.store {
            return Ok(Some(Arc::clone(store)));
        }
        if !self.remote {
            return Ok(None);
        }
        let mut temp = self.temp.lock().unwrap_or_else(|p| p.into_inner());
        if temp.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("stevedore-layers-")
                .tempdir()
                .map_err(|e| Error::io("creating a temporary layer cache", e))?;
            let store = Arc::new(FsStore::new(dir.path()));
            *temp = Some((dir, store));
        }
        Ok(temp.as_ref().map(|(_, s)| Arc::clone(s) as Arc<dyn Store>))
    }
}

impl LayerSource for ImageLayers {
    fn layers(&self) -> &[Descriptor] {
        &self.layers
    }

    fn open(&self, index: usize) -> Result<Box<dyn Read + Send>> {
        let descriptor = self
            .layers
            .get(index)
            .ok_or_else(|| Error::invalid(format!("the image has no layer {index}")))?;
        let transport = self.image.transport();
        match self.cache()? {
            None => transport.get_blob(descriptor),
            Some(store) => {
                if store.stat(&descriptor.digest)?.is_none() {
                    let mut blob = transport.get_blob(descriptor)?;
                    store.put_verified(&descriptor.digest, descriptor.size, &mut blob)?;
                }
                store.open(&descriptor.digest)
            }
        }
    }
}

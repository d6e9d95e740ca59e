//! Reading an [`Image`] from a transport: the manifest and config are
//! fetched, the layers stay in the transport (a [`BlobSource`]) until a
//! write needs them.

use std::any::Any;
use std::io::Read;
use std::sync::Arc;

use crate::descriptor::Descriptor;
use crate::error::Result;
use crate::image::{Blob, BlobSource, Image};
use crate::manifest::{ImageManifest, Manifest};
use crate::platform::Platform;
use crate::resolve::{image_for_platform, small_blob};
use crate::transport::{ImageRef, Transport};

/// The blobs of the transport an image was read from; a destination on the
/// same registry mounts them instead of receiving them.
pub(super) struct TransportBlobs(pub(super) Arc<dyn Transport>);

impl BlobSource for TransportBlobs {
    fn open(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        self.0.get_blob(descriptor)
    }

    fn name(&self) -> String {
        self.0.name()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Reads the image `src` names (from an index, the one for `platform`,
/// the host's when `None`): the manifest and config are fetched, the
/// layers stay where they are until a write needs them.
///
/// Errors: those of the transport; [`ErrorKind::NotFound`] for a
/// platform the index does not list; [`ErrorKind::InvalidInput`] when
/// the config's `rootfs.diff_ids` do not match the layers.
///
/// [`ErrorKind::NotFound`]: crate::ErrorKind::NotFound
/// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
pub fn read(src: &ImageRef, platform: Option<&Platform>) -> Result<Image> {
    let transport = src.transport();
    let top = transport.get_manifest(&src.resolve()?)?;
    let (manifest, parsed) = image_for_platform(transport, top, platform)?;
    from_manifest(src, manifest, parsed)
}

/// The image of `manifest` (an image manifest `src`'s transport holds).
pub(super) fn from_manifest(
    src: &ImageRef,
    manifest: Manifest,
    parsed: ImageManifest,
) -> Result<Image> {
    let transport = src.shared_transport();
    let raw = small_blob(transport.as_ref(), &parsed.config)?;
    let blobs = Blob::Source(Arc::new(TransportBlobs(transport)));
    Image::from_parts(&src.to_string(), manifest, parsed, raw, blobs)
}

//! The delete verb: remove an image from where it is stored.

use crate::error::Result;
use crate::transport::ImageRef;

/// Deletes the image the reference names: a layout's tag (and the blobs only
/// it used), or a registry's manifest (with every tag pointing to it).
pub fn delete(image: &ImageRef) -> Result<()> {
    image.transport().delete(&image.resolve()?)
}

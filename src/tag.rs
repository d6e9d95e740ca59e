//! The tag verb (crane's `tag`): give the manifest an image names another
//! tag in the same repository or layout, without moving a blob.

use crate::digest::Digest;
use crate::error::Result;
use crate::reference::validate_tag_name;
use crate::transport::ImageRef;

/// Stores the manifest `image` names under `tag` too (a tag that pointed
/// elsewhere is moved), sending its bytes unchanged so its digest stays.
/// Returns that digest. An invalid tag is [`ErrorKind::InvalidInput`](crate::ErrorKind).
pub fn tag(image: &ImageRef, tag: &str) -> Result<Digest> {
    validate_tag_name(tag)?;
    let transport = image.transport();
    let manifest = transport.get_manifest(&image.resolve()?)?;
    transport.put_manifest(&manifest, Some(tag))?;
    transport.finalize()?;
    Ok(manifest.digest().clone())
}

//! Following an index to the manifests it lists, shared by the verbs.

use std::io::Read;

use crate::descriptor::Descriptor;
use crate::error::{from_io, Error, ErrorKind, Result};
use crate::manifest::{ImageManifest, Manifest, ManifestContent};
use crate::platform::Platform;
use crate::transport::{Selector, Transport};

/// Fetches the manifest an index entry names and checks it is what the entry
/// says: same media type, same size (the digest is checked on fetch).
pub fn child_manifest(transport: &dyn Transport, entry: &Descriptor) -> Result<Manifest> {
    let child = transport.get_manifest(&Selector::Digest(entry.digest.clone()))?;
    if child.media_type() != entry.media_type {
        return Err(Error::invalid(format!(
            "index entry {} in {} says {}, but the manifest is {}",
            entry.digest,
            transport.name(),
            entry.media_type,
            child.media_type()
        )));
    }
    if child.raw().len() as u64 != entry.size {
        return Err(Error::new(
            ErrorKind::DigestMismatch,
            format!(
                "manifest {} in {} has {} bytes, but its index entry says {}",
                entry.digest,
                transport.name(),
                child.raw().len(),
                entry.size
            ),
        ));
    }
    Ok(child)
}

/// Follows indexes down to the single image for `platform` (the host's when
/// `None`); returns that image's manifest and its parsed form.
pub fn image_for_platform(
    transport: &dyn Transport,
    manifest: Manifest,
    platform: Option<&Platform>,
) -> Result<(Manifest, ImageManifest)> {
    let want = platform.cloned().unwrap_or_else(Platform::host);
    let mut current = manifest;
    loop {
        match current.content() {
            ManifestContent::Image(image) => {
                let image = ImageManifest::clone(image);
                return Ok((current, image));
            }
            ManifestContent::Index(index) => {
                let entry = want.choose(&index.manifests)?;
                current = child_manifest(transport, entry)?;
            }
        }
    }
}

/// Reads a config (or other small) blob whole, verified.
pub fn small_blob(transport: &dyn Transport, descriptor: &Descriptor) -> Result<Vec<u8>> {
    let max = transport.max_config_bytes();
    if descriptor.size > max {
        return Err(Error::invalid(format!(
            "blob {} is {} bytes, more than the {max}-byte limit for configs \
             (max_config_bytes)",
            descriptor.digest, descriptor.size
        )));
    }
    let mut bytes = Vec::with_capacity(descriptor.size as usize);
    transport
        .get_blob(descriptor)?
        .read_to_end(&mut bytes)
        .map_err(|e| {
            from_io(
                format!(
                    "reading blob {} from {}",
                    descriptor.digest,
                    transport.name()
                ),
                e,
            )
        })?;
    Ok(bytes)
}

//! Fetching for runtimes: a manifest (resolved to one platform on request)
//! and blobs, verified, into memory or a file.

use std::io::Read;
use std::path::Path;

use crate::digest::Digest;
use crate::error::{from_io, Error, Result};
use crate::manifest::Manifest;
use crate::new_file::{output_dir, temp_file_in};
use crate::platform::Platform;
use crate::progress::{CancelToken, CancellableWriter};
use crate::resolve::image_for_platform;
use crate::store::copy_stream;
use crate::transport::ImageRef;

/// The manifest the reference names, exactly as stored; with `platform`,
/// an index is followed down to that platform's image manifest.
pub fn manifest(image: &ImageRef, platform: Option<&Platform>) -> Result<Manifest> {
    let root = crate::inspect::raw_manifest(image)?;
    match platform {
        Some(p) => Ok(image_for_platform(image.transport(), root, Some(p))?.0),
        None => Ok(root),
    }
}

/// A verified stream of the blob `digest` from the image's repository or layout.
pub fn blob(image: &ImageRef, digest: &Digest) -> Result<Box<dyn Read + Send>> {
    let transport = image.transport();
    let size = transport
        .blob_size(digest)?
        .ok_or_else(|| Error::not_found(format!("{} has no blob {digest}", transport.name())))?;
    let descriptor =
        crate::descriptor::Descriptor::new("application/octet-stream", digest.clone(), size);
    transport.get_blob(&descriptor)
}

/// The blob `digest`, verified, whole in memory; refused when larger than
/// `limit` bytes.
pub fn blob_bytes(image: &ImageRef, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    blob(image, digest)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| from_io(format!("reading blob {digest}"), e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::invalid(format!(
            "blob {digest} is larger than {limit} bytes; fetch it to a file instead"
        )));
    }
    Ok(bytes)
}

/// Writes the blob `digest`, verified, to `path`: through a temporary file
/// beside it, renamed into place only when complete and verified. The file
/// is created as `cat > path` would create it: mode `0o666` less the umask.
/// Once `cancel` is cancelled the write stops with
/// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) and the temporary
/// file is removed.
pub fn blob_to_file(
    image: &ImageRef,
    digest: &Digest,
    path: &Path,
    cancel: Option<&CancelToken>,
) -> Result<u64> {
    let dir = output_dir(path)?;
    let mut temp = temp_file_in(dir, ".stevedore-blob-", 0o666)
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
    let mut file = CancellableWriter::new(temp.as_file_mut(), cancel, "the blob download");
    let written = copy_stream(&mut blob(image, digest)?, &mut file)
        .map_err(|e| from_io(format!("writing blob {digest} to {}", path.display()), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::io(format!("flushing {}", path.display()), e))?;
    temp.persist(path)
        .map_err(|e| Error::io(format!("moving the blob into {}", path.display()), e.error))?;
    Ok(written)
}

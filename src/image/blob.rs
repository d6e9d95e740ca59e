//! What backs a blob of an [`Image`](super::Image).

use std::any::Any;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use crate::descriptor::Descriptor;
use crate::digest::VerifyingReader;
use crate::error::{Error, Result};
use crate::store::Store;

/// A place blobs are read from that this layer does not know, such as the
/// transport an image was read from (the verbs layer provides it).
pub trait BlobSource: Send + Sync {
    /// A reader of the blob `descriptor`, verified against its digest and
    /// size as it streams.
    fn open(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>>;
    /// A name for messages, such as `oci:/images/app`.
    fn name(&self) -> String;
    /// The source itself, so that its owner can recognise it.
    fn as_any(&self) -> &dyn Any;
}

/// Where the bytes of a blob live.
#[derive(Clone)]
pub enum Blob {
    /// In memory.
    Bytes(Arc<Vec<u8>>),
    /// In a file, read when the image is written.
    File(PathBuf),
    /// In a temporary file, removed when the last image holding it goes.
    Temp(Arc<tempfile::TempPath>),
    /// In a content-addressed store, under the blob's digest.
    Store(Arc<dyn Store>),
    /// In another source (such as the transport the image was read from):
    /// read only when the destination has neither the blob nor a way to
    /// mount it.
    Source(Arc<dyn BlobSource>),
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blob::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Blob::File(p) => write!(f, "File({})", p.display()),
            Blob::Temp(p) => write!(f, "Temp({})", p.display()),
            Blob::Store(_) => f.write_str("Store"),
            Blob::Source(s) => write!(f, "Source({})", s.name()),
        }
    }
}

impl Blob {
    /// A reader of the blob `descriptor`, verified against its digest and
    /// size as it streams.
    pub fn open(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let verified = |r: Box<dyn Read + Send>| -> Box<dyn Read + Send> {
            Box::new(VerifyingReader::new(
                r,
                descriptor.digest.clone(),
                Some(descriptor.size),
            ))
        };
        let file = |path: &std::path::Path| {
            std::fs::File::open(path)
                .map_err(|e| Error::io(format!("opening {}", path.display()), e))
        };
        match self {
            Blob::Bytes(bytes) => Ok(verified(Box::new(std::io::Cursor::new(Shared(
                Arc::clone(bytes),
            ))))),
            Blob::File(path) => Ok(verified(Box::new(file(path)?))),
            Blob::Temp(path) => Ok(verified(Box::new(file(path)?))),
            Blob::Store(store) => Ok(verified(store.open(&descriptor.digest)?)),
            Blob::Source(s) => s.open(descriptor),
        }
    }
}

/// Shared bytes, readable through a `Cursor`.
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

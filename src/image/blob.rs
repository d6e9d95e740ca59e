//! What backs a blob of an [`Image`](super::Image).

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use crate::descriptor::Descriptor;
use crate::digest::VerifyingReader;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::transport::Transport;

/// Where the bytes of a blob live.
#[derive(Clone)]
pub enum Blob {
    /// In memory.
    Bytes(Arc<Vec<u8>>),
    /// In a file, read when the image is written.
    File(PathBuf),
    /// In a content-addressed store, under the blob's digest.
    Store(Arc<dyn Store>),
    /// In the transport the image was read from: read only when the
    /// destination has neither the blob nor a way to mount it.
    Transport(Arc<dyn Transport>),
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blob::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Blob::File(p) => write!(f, "File({})", p.display()),
            Blob::Store(_) => f.write_str("Store"),
            Blob::Transport(t) => write!(f, "Transport({})", t.name()),
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
        match self {
            Blob::Bytes(bytes) => Ok(verified(Box::new(std::io::Cursor::new(Shared(
                Arc::clone(bytes),
            ))))),
            Blob::File(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                Ok(verified(Box::new(file)))
            }
            Blob::Store(store) => Ok(verified(store.open(&descriptor.digest)?)),
            Blob::Transport(t) => t.get_blob(descriptor),
        }
    }

    /// The transport the blob can be mounted from, when it lives in one.
    pub fn origin(&self) -> Option<&dyn Transport> {
        match self {
            Blob::Transport(t) => Some(t.as_ref()),
            _ => None,
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

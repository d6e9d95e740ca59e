//! Blobs in a bucket at `blobs/ALGORITHM/HEX`, content-addressed. A blob is
//! written by one `PutObject` when it is small, else by a multipart upload
//! of [`PART_SIZE`] parts that is completed only once the content verified,
//! and aborted otherwise, so a reader never sees a partial or wrong blob.

use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use super::bucket::Bucket;
use crate::digest::{Digest, VerifyingReader};
use crate::error::{from_io, Error, Result};
use crate::store::Store;

/// The size of the parts of a multipart upload (S3 wants at least 5 MiB
/// for every part but the last).
pub const PART_SIZE: usize = 8 << 20;

/// A content-addressed blob store in a bucket. Cheap to clone.
#[derive(Clone)]
pub struct S3Store {
    bucket: Arc<Bucket>,
}

/// Fills `buf` from `reader` as far as it goes; the bytes read.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl S3Store {
    /// Blobs in `bucket`.
    pub fn new(bucket: Arc<Bucket>) -> S3Store {
        S3Store { bucket }
    }

    /// The bucket.
    pub fn bucket(&self) -> &Arc<Bucket> {
        &self.bucket
    }

    /// The object name of blob `digest`.
    pub fn object_name(digest: &Digest) -> String {
        format!("blobs/{}/{}", digest.algorithm().as_str(), digest.hex())
    }

    /// A URL fetching blob `digest` without credentials, valid for an hour.
    pub fn presigned(&self, digest: &Digest) -> url::Url {
        self.bucket.presigned_get(&Self::object_name(digest))
    }

    /// Every blob with its size and last write time.
    pub fn list(&self) -> Result<Vec<(Digest, u64, Option<SystemTime>)>> {
        let (objects, _) = self.bucket.list("blobs/", true)?;
        Ok(objects
            .into_iter()
            .filter_map(|o| {
                let (algorithm, hex) = o.name.split_once('/')?;
                let digest = format!("{algorithm}:{hex}").parse().ok()?;
                Some((digest, o.size, o.modified))
            })
            .collect())
    }

    /// Writes `content` (which verifies itself) as blob `digest`.
    fn write(&self, digest: &Digest, size: Option<u64>, content: &mut dyn Read) -> Result<u64> {
        if let Some(existing) = self.stat(digest)? {
            return Ok(existing);
        }
        let name = Self::object_name(digest);
        let reading = |e| from_io(format!("reading blob {digest}"), e);
        let mut buf = vec![0u8; PART_SIZE];
        let first = fill(content, &mut buf).map_err(reading)?;
        let check = |written: u64| match size {
            Some(size) if size != written => Err(Error::new(
                crate::error::ErrorKind::DigestMismatch,
                format!("blob {digest} has {written} bytes, not the {size} announced"),
            )),
            _ => Ok(written),
        };
        if first < PART_SIZE {
            check(first as u64)?;
            self.bucket.put(&name, &buf[..first], true)?;
            return Ok(first as u64);
        }
        let id = self.bucket.start_multipart(&name)?;
        let outcome = (|| {
            let mut etags = Vec::new();
            let mut filled = first;
            let mut total = 0u64;
            loop {
                let number = u16::try_from(etags.len() + 1).map_err(|_| {
                    Error::invalid(format!("blob {digest} is too large for one S3 object"))
                })?;
                etags.push(
                    self.bucket
                        .upload_part(&name, &id, number, &buf[..filled])?,
                );
                total += filled as u64;
                filled = fill(content, &mut buf).map_err(reading)?;
                if filled == 0 {
                    break;
                }
            }
            check(total)?;
            self.bucket.complete_multipart(&name, &id, &etags)?;
            Ok(total)
        })();
        if outcome.is_err() {
            let _ = self.bucket.abort_multipart(&name, &id);
        }
        outcome
    }
}

impl Store for S3Store {
    fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        self.bucket.head(&Self::object_name(digest))
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        self.open_from(digest, 0)
    }

    fn open_from(&self, digest: &Digest, offset: u64) -> Result<Box<dyn Read + Send>> {
        self.bucket
            .reader(&Self::object_name(digest), offset)?
            .ok_or_else(|| Error::not_found(format!("blob {digest} is not in the store")))
    }

    fn put(&self, digest: &Digest, size: Option<u64>, content: &mut dyn Read) -> Result<u64> {
        let mut verified = VerifyingReader::new(content, digest.clone(), size);
        self.write(digest, size, &mut verified)
    }

    fn put_verified(&self, digest: &Digest, size: u64, content: &mut dyn Read) -> Result<u64> {
        self.write(digest, Some(size), content)
    }

    fn delete(&self, digest: &Digest) -> Result<()> {
        if self.stat(digest)?.is_none() {
            return Err(Error::not_found(format!(
                "blob {digest} is not in the store"
            )));
        }
        self.bucket.delete(&Self::object_name(digest))
    }
}

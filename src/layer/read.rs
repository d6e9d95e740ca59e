//! Reading an entry's bytes on demand: by streaming its layer again up to
//! the entry, or from a [`Spool`] (the layer's uncompressed tar kept in an
//! unnamed temporary file) when one layer is read many times.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, PoisonError};

use super::compression::decompress;
use super::entry::Entry;
use super::merge::{LayerSource, Limits};
use crate::error::{from_io, Error, Result};

/// A stream of `entry`'s bytes, read from its layer (opened again through
/// `source`, decompressed and skipped up to the entry). The stream fails
/// when the layer ends early.
pub fn read_entry_from(
    source: &dyn LayerSource,
    entry: &Entry,
    limits: &Limits,
) -> Result<Box<dyn Read + Send>> {
    let Some(data) = entry.data else {
        return Err(Error::invalid(format!(
            "{} has no bytes to read",
            entry.path
        )));
    };
    let descriptor = source.layers().get(data.layer).ok_or_else(|| {
        Error::invalid(format!(
            "{} names layer {}, which the image lacks",
            entry.path, data.layer
        ))
    })?;
    let (mut stream, _) = decompress(
        source.open(data.layer)?,
        &descriptor.media_type,
        &descriptor.digest,
        limits.max_layer_bytes,
    )?;
    let skipped = io::copy(&mut (&mut stream).take(data.offset), &mut io::sink())
        .map_err(|e| from_io(format!("reading layer {}", descriptor.digest), e))?;
    if skipped < data.offset {
        return Err(Error::invalid(format!(
            "layer {} ended before the bytes of {}",
            descriptor.digest, entry.path
        )));
    }
    Ok(Box::new(Exact {
        inner: stream.take(entry.size),
        left: entry.size,
        what: entry.path.clone(),
    }))
}

/// One layer's uncompressed tar stream in an unnamed temporary file (gone
/// when the last handle is dropped), read at offsets. Cheap to clone.
#[derive(Clone)]
pub struct Spool {
    file: Arc<File>,
    len: u64,
}

impl Spool {
    /// Decompresses layer `index` of `source` into a new spool.
    pub fn new(source: &dyn LayerSource, index: usize, limits: &Limits) -> Result<Spool> {
        let descriptor = source
            .layers()
            .get(index)
            .ok_or_else(|| Error::invalid(format!("the image has no layer {index}")))?;
        let (mut stream, _) = decompress(
            source.open(index)?,
            &descriptor.media_type,
            &descriptor.digest,
            limits.max_layer_bytes,
        )?;
        let mut file = tempfile::tempfile()
            .map_err(|e| Error::io("creating a temporary file for a layer", e))?;
        let len = crate::store::copy_stream(&mut stream, &mut file)
            .map_err(|e| from_io(format!("unpacking layer {}", descriptor.digest), e))?;
        Ok(Spool {
            file: Arc::new(file),
            len,
        })
    }

    /// `stream` (a layer's uncompressed tar stream), copied into a new spool
    /// as it is read; [`SpoolFiller::finish`] hands the spool over once the
    /// stream has been read to its end.
    pub(crate) fn filling(
        stream: Box<dyn Read + Send>,
    ) -> Result<(Box<dyn Read + Send>, SpoolFiller)> {
        let file = Arc::new(
            tempfile::tempfile()
                .map_err(|e| Error::io("creating a temporary file for a layer", e))?,
        );
        let copy = Arc::new(Mutex::new(io::BufWriter::with_capacity(
            1 << 20,
            SharedFile(Arc::clone(&file)),
        )));
        let tee = Tee {
            inner: stream,
            copy: Arc::clone(&copy),
        };
        Ok((Box::new(tee), SpoolFiller { file, copy }))
    }

    /// A stream of `entry`'s bytes from this spool (which must be its layer's).
    pub fn read(&self, entry: &Entry) -> Result<Box<dyn Read + Send>> {
        let Some(data) = entry.data else {
            return Err(Error::invalid(format!(
                "{} has no bytes to read",
                entry.path
            )));
        };
        if data.offset + entry.size > self.len {
            return Err(Error::invalid(format!(
                "the bytes of {} lie past the end of their layer",
                entry.path
            )));
        }
        Ok(Box::new(At {
            file: Arc::clone(&self.file),
            pos: data.offset,
            end: data.offset + entry.size,
        }))
    }
}

impl Spool {
    /// Up to `len` bytes of `entry`'s bytes from byte `offset` on (fewer at
    /// the end of the entry, none past it), read in place from this spool
    /// (which must be the entry's layer's): a ranged read holds only the
    /// bytes asked for, however large the entry.
    pub fn read_range(&self, entry: &Entry, offset: u64, len: u64) -> Result<Vec<u8>> {
        let start = offset.min(entry.size);
        let len = len.min(entry.size - start);
        // Checks the entry lies inside this spool.
        self.read(entry)?;
        let from = entry.data.map_or(0, |d| d.offset) + start;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        At {
            file: Arc::clone(&self.file),
            pos: from,
            end: from + len,
        }
        .read_to_end(&mut bytes)
        .map_err(|e| from_io(format!("reading {}", entry.path), e))?;
        Ok(bytes)
    }
}

struct At {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Fails instead of ending early.
struct Exact<R> {
    inner: R,
    left: u64,
    what: String,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(Error::invalid(format!(
                "the layer ended {} bytes before the end of {}",
                self.left, self.what
            ))
            .into());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The spool a stream is being copied into (see [`Spool::filling`]).
pub(crate) struct SpoolFiller {
    file: Arc<File>,
    copy: Arc<Mutex<io::BufWriter<SharedFile>>>,
}

impl SpoolFiller {
    /// The spool, holding the `len` bytes the stream produced.
    pub(crate) fn finish(self, len: u64) -> Result<Spool> {
        self.copy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
            .map_err(|e| Error::io("writing a layer to a temporary file", e))?;
        Ok(Spool {
            file: self.file,
            len,
        })
    }
}

/// A file written through a shared handle.
struct SharedFile(Arc<File>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reader that copies what it reads into a spool's buffer.
struct Tee {
    inner: Box<dyn Read + Send>,
    copy: Arc<Mutex<io::BufWriter<SharedFile>>>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_all(&buf[..n])?;
        Ok(n)
    }
}

//! Appending large content to a file with little work for the CPU: bytes are
//! read straight into a page-aligned buffer and written from there. With
//! direct I/O (`O_DIRECT`), whole blocks go to the disk without a copy into
//! the page cache (and without staying there for later readers). Otherwise, or
//! where the file system refuses direct I/O, writes go through the page cache;
//! for a file that will be flushed, the kernel is asked to start writing back
//! as it grows, so that the flush has little left to wait for.
// Calls std does not offer: `fcntl(F_SETFL)` to turn direct I/O on and
// off, `sync_file_range`, and `mmap`/`munmap` for the buffer.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read};
use std::ops::{Deref, DerefMut, Range};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::ptr::NonNull;

/// The alignment direct I/O needs, of memory, file offsets and lengths: a
/// page, which covers every logical block size Linux supports.
const BLOCK: usize = 4096;

/// The most bytes held before they are written.
const BUFFER: usize = 1 << 20;

/// Through the page cache, how many bytes are written between two requests
/// to start writeback (for a file that will be flushed).
const WRITEBACK_EVERY: u64 = 8 << 20;

/// Zeroed, page-aligned memory in a mapping of its own (anonymous `mmap`),
/// given back to the system when dropped. A freed heap buffer of a MiB can
/// stay in the allocator's arena of the thread that used it: a `sync`, whose
/// jobs start threads image after image, grew its peak RSS with the images
/// (50 MiB at 100 to local layouts, 22 MiB with this buffer).
struct Pages {
    start: NonNull<u8>,
    len: usize,
}

// SAFETY: `Pages` owns its mapping alone, as a `Vec<u8>` owns its memory.
unsafe impl Send for Pages {}
// SAFETY: shared access only reads, through `&[u8]`.
unsafe impl Sync for Pages {}

impl Pages {
    /// Maps `len` bytes (more than 0); fails as `mmap` does (out of memory).
    fn new(len: usize) -> io::Result<Pages> {
        // SAFETY: a new private anonymous mapping, touching no memory of ours.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(start.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(Pages { start, len })
    }
}

impl Deref for Pages {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` mapped, readable bytes (zeroed at first), ours alone.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

impl DerefMut for Pages {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: the mapping `new` made, which no slice outlives.
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.len) };
    }
}

/// Appends to `file` from a position on. Dropping it without
/// [`finish`](Appender::finish) loses what it still buffers.
pub struct Appender<'f> {
    file: &'f File,
    /// The aligned region the content passes through.
    buf: Pages,
    /// The region's length (a multiple of `BLOCK`).
    region: usize,
    /// The file position of the region's first byte (a multiple of `BLOCK`).
    base: u64,
    /// The region's first byte not yet written.
    start: usize,
    /// The region's end of data.
    end: usize,
    /// Whether blocks go to the disk with direct I/O.
    can_direct: bool,
    /// Whether the file is in direct mode now.
    direct_on: bool,
    /// Whether writeback is started as the page-cached file grows.
    writes_back: bool,
    /// Up to where writeback was requested.
    written_back: u64,
}

fn align_down(n: usize) -> usize {
    n - n % BLOCK
}

impl<'f> Appender<'f> {
    /// Appends at `position` (the file's length) of `file` with direct I/O,
    /// or where the file system refuses it, as [`writing_back`]. `expected`
    /// is the length of the content to come, when known: small content gets
    /// a small buffer. Fails only when the buffer cannot be mapped.
    ///
    /// [`writing_back`]: Appender::writing_back
    pub fn direct(
        file: &'f File,
        position: u64,
        expected: Option<u64>,
    ) -> io::Result<Appender<'f>> {
        let mut appender = Appender::cached(file, position, expected)?.writing_back();
        appender.can_direct = true;
        appender.can_direct = appender.set_direct(true).is_ok();
        Ok(appender)
    }

    /// Appends at `position` (the file's length) of `file` through the page
    /// cache, where what is written stays for readers that come soon after.
    /// `expected` and failure as for [`direct`](Appender::direct).
    pub fn cached(
        file: &'f File,
        position: u64,
        expected: Option<u64>,
    ) -> io::Result<Appender<'f>> {
        let lead = (position % BLOCK as u64) as usize;
        // Room for the content and one byte more (a read that finds the end).
        let wanted = expected.map_or(BUFFER as u64, |n| n.saturating_add(lead as u64 + 1));
        let size = align_down(wanted.min(BUFFER as u64) as usize + BLOCK - 1).max(BLOCK);
        Ok(Appender {
            file,
            buf: Pages::new(size)?,
            region: size,
            base: position - lead as u64,
            start: lead,
            end: lead,
            can_direct: false,
            direct_on: false,
            writes_back: false,
            written_back: position,
        })
    }

    /// This appender, starting writeback as the page-cached file grows: for
    /// a file that is flushed to disk once written.
    pub fn writing_back(self) -> Appender<'f> {
        Appender {
            writes_back: true,
            ..self
        }
    }

    /// Reads once from `reader` into the buffer, writing out the buffer first
    /// when it is full; returns the bytes read (none at the reader's end).
    pub fn read_from(&mut self, reader: &mut dyn Read) -> io::Result<&[u8]> {
        if self.end == self.region {
            self.write_blocks()?;
        }
        let region = &mut self.buf[..self.region];
        let n = loop {
            match reader.read(&mut region[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.end += n;
        Ok(&self.buf[self.end - n..self.end])
    }

    /// Appends everything `reader` yields; returns the byte count.
    pub fn read_all(&mut self, reader: &mut dyn Read) -> io::Result<u64> {
        let mut total = 0u64;
        loop {
            match self.read_from(reader)?.len() {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    }

    /// Writes everything still buffered and leaves the file in its ordinary
    /// mode; returns the file's new length.
    pub fn finish(mut self) -> io::Result<u64> {
        self.write_blocks()?;
        self.write_cached(self.start..self.end)?;
        self.set_direct(false)?;
        Ok(self.base + self.end as u64)
    }

    /// Writes the buffered whole blocks, then moves the incomplete last block
    /// (if any) to the front of the buffer.
    fn write_blocks(&mut self) -> io::Result<()> {
        if !self.start.is_multiple_of(BLOCK) {
            // The content began inside a block: that block's head goes
            // through the page cache, as direct I/O cannot write part of one.
            let head_end = (align_down(self.start) + BLOCK).min(self.end);
            self.write_cached(self.start..head_end)?;
            self.start = head_end;
        }
        let whole = align_down(self.end);
        if whole > self.start {
            self.write_direct(self.start..whole)?;
            self.start = whole;
        }
        self.buf.copy_within(whole..self.end, 0);
        self.base += whole as u64;
        self.start -= whole;
        self.end -= whole;
        Ok(())
    }

    fn write_direct(&mut self, range: Range<usize>) -> io::Result<()> {
        if !self.can_direct {
            return self.write_cached(range);
        }
        self.set_direct(true)?;
        let position = self.base + range.start as u64;
        let bytes = &self.buf[range.start..range.end];
        match self.file.write_all_at(bytes, position) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                // The file system accepted the mode but not these writes.
                self.can_direct = false;
                self.write_cached(range)
            }
            other => other,
        }
    }

    fn write_cached(&mut self, range: Range<usize>) -> io::Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        self.set_direct(false)?;
        let position = self.base + range.start as u64;
        self.file
            .write_all_at(&self.buf[range.start..range.end], position)?;
        let written_to = position + range.len() as u64;
        if self.writes_back && !self.can_direct && written_to - self.written_back >= WRITEBACK_EVERY
        {
            // SAFETY: the descriptor is the open file's; the call only starts
            // writeback of a range already written. Its failure is harmless:
            // whoever needs the data on disk flushes it.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.written_back as libc::off64_t,
                    (written_to - self.written_back) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.written_back = written_to;
        }
        Ok(())
    }

    /// Turns direct I/O on or off for the file.
    fn set_direct(&mut self, on: bool) -> io::Result<()> {
        if on == self.direct_on || (on && !self.can_direct) {
            return Ok(());
        }
        let fd = self.file.as_raw_fd();
        // SAFETY: `fd` is the open file's descriptor for the whole call;
        // F_GETFL and F_SETFL read and set its status flags only.
        let set = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            let flags = match on {
                true => flags | libc::O_DIRECT,
                false => flags & !libc::O_DIRECT,
            };
            flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags) == 0
        };
        if !set {
            return Err(io::Error::last_os_error());
        }
        self.direct_on = on;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Appends `parts` one after another, each through its own appender
    /// (direct or cached, alternately), read in reads of at most `step`
    /// bytes; checks the file's content.
    fn append_parts(dir: &std::path::Path, parts: &[usize], step: usize) {
        let path = dir.join(format!("file-{step}-{parts:?}"));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        let mut expected = Vec::new();
        for (i, &len) in parts.iter().enumerate() {
            let content = pattern(len, i as u8);
            // Announced lengths right, unknown, and short of the truth.
            let announced = [Some(len as u64), None, Some(len as u64 / 2)][i % 3];
            let mut appender = match i % 2 {
                0 => Appender::direct(&file, expected.len() as u64, announced).unwrap(),
                _ => Appender::cached(&file, expected.len() as u64, announced)
                    .unwrap()
                    .writing_back(),
            };
            let mut reader = SmallReads {
                bytes: &content,
                step,
            };
            assert_eq!(appender.read_all(&mut reader).unwrap(), len as u64);
            expected.extend_from_slice(&content);
            assert_eq!(appender.finish().unwrap(), expected.len() as u64);
        }
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }

    struct SmallReads<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for SmallReads<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn appends_keep_every_byte_at_any_alignment() {
        // On disk (direct I/O where the file system takes it) and in /dev/shm
        // where it exists (page cache only on older kernels).
        let mut dirs = vec![tempfile::tempdir().unwrap()];
        if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
            dirs.push(shm);
        }
        for dir in &dirs {
            append_parts(dir.path(), &[0], BUFFER);
            append_parts(dir.path(), &[3 * BUFFER + 5], BUFFER);
            append_parts(dir.path(), &[BLOCK, BUFFER, 1], 65536);
            append_parts(dir.path(), &[100, 5000, 3 * BUFFER + 1, 4095, 2], 7000);
            append_parts(dir.path(), &[BLOCK - 1, 1, BLOCK + 1, BUFFER - 1], BUFFER);
            append_parts(dir.path(), &[1, 2, 3, 2 * BLOCK, 5, 2 * BLOCK - 3], 3);
        }
    }

    #[test]
    fn an_absurd_announced_length_is_harmless() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut appender = Appender::direct(&file, 0, Some(u64::MAX)).unwrap();
        assert_eq!(appender.read_all(&mut &b"tiny"[..]).unwrap(), 4);
        assert_eq!(appender.finish().unwrap(), 4);
    }

    #[test]
    fn a_reader_error_is_returned() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("the network went away"))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut appender = Appender::direct(&file, 0, None).unwrap();
        let error = appender.read_all(&mut Failing).unwrap_err();
        assert_eq!(error.to_string(), "the network went away");
    }
}

//! Entry points for the fuzz targets (`tests/fuzz`), built only with the
//! `fuzzing` feature: the server's request reading, routing and answering
//! over bytes in memory, and its `Range`/`Content-Range` parsers.

use std::io::{self, Read, Write};
use std::sync::OnceLock;
use std::time::Duration;

use super::access::Access;
use super::handlers::{self, Incoming, Registry};
use super::http;
use super::meta::MemoryMeta;
use super::storage::Storage;
use super::uploads::Uploads;
use crate::store::MemoryStore;

/// A connection whose client sent `input` and whose answers are kept.
struct Duplex<'a> {
    input: &'a [u8],
    output: Vec<u8>,
}

impl Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Answers are capped so a fuzz input cannot make one grow forever.
        if self.output.len() < 1 << 20 {
            self.output.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The directory upload sessions use, one per process.
fn upload_dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
}

/// Serves `input` as the bytes a client sent on one connection to an empty
/// in-memory registry (fresh for each call); returns what the server
/// answered (at most 1 MiB of it).
pub fn serve_bytes(input: &[u8]) -> Vec<u8> {
    let registry = Registry {
        storage: Storage::new(
            Box::new(MemoryStore::new()),
            Box::new(MemoryMeta::default()),
        ),
        uploads: Uploads::new(
            upload_dir().path().join("uploads"),
            Duration::from_secs(60),
            16,
            1 << 20,
        )
        .expect("an upload directory"),
        access: Access {
            htpasswd: None,
            read_only: false,
            authorizer: None,
        },
    };
    let handler = move |request: &mut Incoming| registry.handle(request);
    let mut duplex = Duplex {
        input,
        output: Vec::new(),
    };
    http::requests(&mut duplex, &handler, None);
    duplex.output
}

/// An inclusive byte range: first and last offset.
pub type ByteRange = (u64, u64);

/// Parses `value` as a blob request's `Range` against a blob of `size`
/// bytes, and as an upload chunk's `Content-Range`.
pub fn parse_ranges(value: &str, size: u64) -> (Option<ByteRange>, Option<ByteRange>) {
    (
        handlers::byte_range(value, size),
        handlers::chunk_range(value),
    )
}

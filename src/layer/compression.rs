//! A layer blob's compression: chosen by media type, checked against the
//! magic bytes, and the decompressed stream bounded in size.

use std::io::{self, BufRead, BufReader, Read};

use serde::Serialize;

use crate::digest::Digest;
use crate::error::Error;
use crate::error::Result;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (RFC 1952), possibly several members.
    Gzip,
    /// zstd (RFC 8878), possibly several frames.
    Zstd,
}

impl Compression {
    /// What a layer media type says: `+gzip`/`.tar.gzip` is gzip, `+zstd`
    /// zstd, a bare `.tar` none; `None` for a media type that says nothing
    /// known.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        if media_type.ends_with("+gzip") || media_type.ends_with(".tar.gzip") {
            Some(Compression::Gzip)
        } else if media_type.ends_with("+zstd") {
            Some(Compression::Zstd)
        } else if media_type.ends_with(".tar") {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// What the first bytes of a blob are: the gzip or zstd magic, or else a
    /// plain tar.
    pub fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The name used in reports: `none`, `gzip`, `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// How a layer was read: its real compression and, when the media type said
/// otherwise (or nothing known), a note saying so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerFormat {
    /// The compression the magic bytes show, which is what was used.
    pub compression: Compression,
    /// Set when the media type disagrees with the bytes, such as
    /// `"labelled gzip by its media type, but the bytes are zstd"`.
    pub mislabelled: Option<String>,
}

/// The uncompressed tar stream of a layer blob with `media_type`, and how it
/// was read. The stream fails (with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput),
/// naming `digest`) once it has produced more than `max_bytes` bytes: a
/// decompression bomb stops there.
pub fn decompress(
    blob: Box<dyn Read + Send>,
    media_type: &str,
    digest: &Digest,
    max_bytes: u64,
) -> Result<(Box<dyn Read + Send>, LayerFormat)> {
    let mut buffered = BufReader::with_capacity(256 * 1024, blob);
    let head = buffered
        .fill_buf()
        .map_err(|e| crate::error::from_io(format!("reading layer {digest}"), e))?;
    let compression = Compression::from_magic(head);
    let mislabelled = match Compression::from_media_type(media_type) {
        Some(labelled) if labelled == compression => None,
        Some(labelled) => Some(format!(
            "labelled {} by its media type {media_type}, but the bytes are {}",
            labelled.as_str(),
            compression.as_str()
        )),
        None => Some(format!(
            "media type {media_type:?} names no known layer compression; the bytes are {}",
            compression.as_str()
        )),
    };
    let stream: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| Error::io(format!("starting zstd for layer {digest}"), e))?,
        ),
    };
    let bounded = Bounded {
        inner: stream,
        read: 0,
        max: max_bytes,
        digest: digest.clone(),
    };
    Ok((
        Box::new(bounded),
        LayerFormat {
            compression,
            mislabelled,
        },
    ))
}

/// A reader that fails once more than `max` bytes came through.
struct Bounded {
    inner: Box<dyn Read + Send>,
    read: u64,
    max: u64,
    digest: Digest,
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.max {
            return Err(Error::invalid(format!(
                "layer {} decompresses to more than {} bytes (the max_layer_bytes limit): \
                 a decompression bomb, or raise the limit",
                self.digest, self.max
            ))
            .into());
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_wins_over_the_media_type_and_the_report_says_so() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"hello").unwrap();
        let bytes = gz.finish().unwrap();
        let digest = Digest::sha256(&bytes);
        let (mut r, format) = decompress(
            Box::new(std::io::Cursor::new(bytes)),
            crate::media_types::OCI_LAYER_ZSTD,
            &digest,
            100,
        )
        .unwrap();
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello");
        assert_eq!(format.compression, Compression::Gzip);
        assert!(format.mislabelled.unwrap().contains("labelled zstd"));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let bytes = zstd::encode_all(&vec![0u8; 1 << 20][..], 3).unwrap();
        let digest = Digest::sha256(&bytes);
        let (mut r, format) = decompress(
            Box::new(std::io::Cursor::new(bytes)),
            crate::media_types::OCI_LAYER_ZSTD,
            &digest,
            1000,
        )
        .unwrap();
        assert_eq!(format.mislabelled, None);
        let err = crate::error::from_io("x", r.read_to_end(&mut Vec::new()).unwrap_err());
        assert!(err.message().contains("max_layer_bytes"), "{err}");
        assert!(err.message().contains(&digest.to_string()), "{err}");
    }
}

//! Content digests (`algorithm:hex`): strict parsing, hashing, and a reader that
//! verifies content against its digest and size as it streams.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use sha2::Digest as _;

use crate::error::{Error, ErrorKind, Result};

/// A digest algorithm Stevedore can compute and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the registry default.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as written in a digest (`sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The length of the hex-encoded value.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A parsed, validated content digest such as `sha256:e3b0…`.
///
/// The hex part is lowercase and of the algorithm's exact length, so a digest
/// is always safe to use as a file name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// The SHA-256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The digest of `bytes` under `algorithm`.
    pub fn compute(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex value.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Checks that `bytes` have this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        let actual = Digest::compute(self.algorithm, bytes);
        if &actual == self {
            Ok(())
        } else {
            Err(mismatch(self, &actual))
        }
    }
}

fn mismatch(expected: &Digest, actual: &Digest) -> Error {
    Error::new(
        ErrorKind::DigestMismatch,
        format!("content does not match its digest: expected {expected}, got {actual}"),
    )
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Digest> {
        let shown: String = s.chars().take(80).collect();
        let (alg, hex) = s.split_once(':').ok_or_else(|| {
            Error::invalid(format!(
                "invalid digest {shown:?}: expected ALGORITHM:HEX, such as sha256:<64 hex digits>"
            ))
        })?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => {
                return Err(Error::invalid(format!(
                    "invalid digest {shown:?}: unsupported algorithm {alg:?} (supported: sha256, sha512)"
                )))
            }
        };
        if hex.len() != algorithm.hex_len() {
            return Err(Error::invalid(format!(
                "invalid digest {shown:?}: a {alg} digest has {} hex digits, this one has {}",
                algorithm.hex_len(),
                hex.len()
            )));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::invalid(format!(
                "invalid digest {shown:?}: the value must be lowercase hexadecimal"
            )));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher for one [`Algorithm`].
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// SHA-512 state.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, format!("{:x}", h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, format!("{:x}", h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

/// A reader that passes content through while hashing it, and fails — instead of
/// reporting end of stream — when the content's digest or size is not the
/// expected one. Reading more bytes than the expected size fails at once.
///
/// Errors come out as `io::Error`s wrapping a Stevedore [`Error`] of kind
/// [`ErrorKind::DigestMismatch`]; [`crate::error::from_io`] recovers it.
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    expected_size: Option<u64>,
    hasher: Option<Hasher>,
    read: u64,
}

impl<R: Read> VerifyingReader<R> {
    /// Wraps `inner`, which must yield exactly the content of `expected`
    /// (and `expected_size` bytes, when given).
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>) -> Self {
        VerifyingReader {
            hasher: Some(Hasher::new(expected.algorithm())),
            inner,
            expected,
            expected_size,
            read: 0,
        }
    }

    fn fail(&self, message: String) -> io::Error {
        Error::new(ErrorKind::DigestMismatch, message).into()
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.hasher.is_none() || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(hasher) = self.hasher.as_mut() {
                hasher.update(&buf[..n]);
            }
            self.read += n as u64;
            if let Some(size) = self.expected_size.filter(|&s| self.read > s) {
                return Err(self.fail(format!(
                    "content of {} is larger than its announced size of {size} bytes",
                    self.expected
                )));
            }
            return Ok(n);
        }
        if let Some(size) = self.expected_size.filter(|&s| self.read != s) {
            return Err(self.fail(format!(
                "content of {} is truncated: {} of {size} bytes",
                self.expected, self.read
            )));
        }
        if let Some(actual) = self.hasher.take().map(Hasher::finish) {
            if actual != self.expected {
                return Err(mismatch(&self.expected, &actual).into());
            }
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(Digest::sha256(b""), d);
        let d512 = Digest::compute(Algorithm::Sha512, b"x");
        assert_eq!(d512.to_string().parse::<Digest>().unwrap(), d512);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "sha256",
            "sha256:",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
            "sha256:../../x",
            "sha256:../../../../../../../../../../../../../../../../../../../../../etc/passwd",
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            let err = bad.parse::<Digest>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    fn read_all(r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut r = r;
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn verifying_reader_passes_good_content() {
        let d = Digest::sha256(b"hello");
        let out = read_all(VerifyingReader::new(&b"hello"[..], d, Some(5))).unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn verifying_reader_fails_on_wrong_content_size_or_overflow() {
        let d = Digest::sha256(b"hello");
        for (content, size) in [
            (&b"hellO"[..], Some(5)),
            (b"hell", Some(5)),
            (b"hello!", Some(5)),
        ] {
            let err = read_all(VerifyingReader::new(content, d.clone(), size)).unwrap_err();
            let err = crate::error::from_io("reading", err);
            assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{content:?}");
        }
        let err = read_all(VerifyingReader::new(&b"hello"[..], d, Some(4))).unwrap_err();
        assert!(err.to_string().contains("larger"), "{err}");
    }
}

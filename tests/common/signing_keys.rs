//! Keys and judges for the signing tests (`tests/signing_*.rs`): the shared
//! cosign test data, fresh keys, a key-only policy, and openssl making
//! keys and verifying signatures independently of us.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use p256::ecdsa::{SigningKey, VerifyingKey};
use stevedore::sign::Policy;

use super::tool_ok;

/// The shared cosign test data, or `None` (with a notice) where it is absent.
pub fn testdata() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/cosign");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: {} is absent; skipping the cosign interop vectors",
            dir.display()
        );
        None
    }
}

/// The bytes of the file at `path` (a test data file).
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh P-256 public key that signed nothing.
pub fn other_key() -> VerifyingKey {
    *SigningKey::random(&mut rand_core::OsRng).verifying_key()
}

/// A policy that accepts signatures by any of `keys`, whatever their
/// identity and annotations.
pub fn policy(keys: Vec<VerifyingKey>) -> Policy {
    Policy {
        keys,
        identity: None,
        annotations: BTreeMap::new(),
    }
}

/// A key made by openssl, in PKCS#8 and in SEC1, and its public key.
pub fn openssl_keys(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let pkcs8 = dir.join("key.pem");
    let sec1 = dir.join("key-sec1.pem");
    let public = dir.join("pub.pem");
    let s = |p: &Path| p.display().to_string();
    tool_ok(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &s(&pkcs8),
        ],
    );
    tool_ok("openssl", &["ec", "-in", &s(&pkcs8), "-out", &s(&sec1)]);
    tool_ok(
        "openssl",
        &["pkey", "-in", &s(&pkcs8), "-pubout", "-out", &s(&public)],
    );
    (pkcs8, sec1, public)
}

/// Checks with openssl that `signature_b64` signs `payload` for the public
/// key at `public` (files written into `dir`).
pub fn openssl_verifies(dir: &Path, public: &Path, payload: &[u8], signature_b64: &str) {
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature_b64)
        .unwrap();
    std::fs::write(dir.join("payload.json"), payload).unwrap();
    std::fs::write(dir.join("sig.der"), der).unwrap();
    let s = |p: PathBuf| p.display().to_string();
    tool_ok(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            &public.display().to_string(),
            "-signature",
            &s(dir.join("sig.der")),
            &s(dir.join("payload.json")),
        ],
    );
}

//! Rust crates compiled into a binary by `cargo auditable`: the ELF section
//! `.dep-v0`, zlib-compressed JSON `{"packages": [{"name", "version", "source",
//! "kind", "dependencies", "root"}]}` (rust-secure-code/cargo-auditable's format).

use std::io::Read;

use flate2::read::ZlibDecoder;
use serde::Deserialize;

use super::catalog::{Found, Purl};
use super::model::Ecosystem;

/// The largest decompressed dependency list read (cargo auditable's own readers
/// stop at 8 MiB); beyond it the section is a warning, not a zip bomb.
const MAX_JSON_BYTES: u64 = 8 << 20;

#[derive(Deserialize)]
struct VersionInfo {
    packages: Vec<CratePackage>,
}

#[derive(Deserialize)]
struct CratePackage {
    name: String,
    version: String,
}

/// Catalogs the `cargo auditable` data `section` (the `.dep-v0` section) of the
/// binary `path`: every crate compiled in (the root crate included), each a
/// `pkg:cargo` package.
pub(super) fn catalog(section: &[u8], path: &str, found: &mut Found) {
    match decode(section) {
        Ok(info) => {
            for package in &info.packages {
                found.add(
                    Purl::new(Ecosystem::Cargo, &package.name, &package.version),
                    Vec::new(),
                    path,
                );
            }
        }
        Err(err) => found.warn(format!("{path}: cargo auditable data (.dep-v0): {err}")),
    }
}

fn decode(compressed: &[u8]) -> Result<VersionInfo, String> {
    let mut json = Vec::new();
    ZlibDecoder::new(compressed)
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("not zlib data: {e}"))?;
    if json.len() as u64 > MAX_JSON_BYTES {
        return Err(format!("over {MAX_JSON_BYTES} bytes decompressed"));
    }
    serde_json::from_slice(&json).map_err(|e| format!("unparseable JSON: {e}"))
}

//! Go modules compiled into a binary, from the build info the Go linker embeds
//! (`runtime/debug.BuildInfo`; what `go version -m` prints).
//!
//! The build info is in the ELF section `.go.buildinfo` (or found by its magic when
//! section headers are stripped): a 32-byte header `"\xff Go buildinf:"`, pointer
//! size, flags; since Go 1.18 (flag bit 2) followed inline by two varint-length
//! strings: the Go version and the module info (`path`, `mod`, `dep`, `=>` lines).

use super::catalog::{Found, Purl};
use super::model::Ecosystem;
use super::rootfs::RootFs;

/// The magic the build info starts with.
pub(super) const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
/// Flag bit: the version and module strings follow the header inline (Go 1.18+).
const FLAG_VERSION_INLINE: u8 = 0x2;
/// How much of a file is read at a time when searching for the build info.
const SCAN_CHUNK: u64 = 1 << 20;
/// How much is read from the magic on when it was found by searching: the
/// header and both strings (module lists are tens of KiB).
const INFO_MAX: u64 = 4 << 20;

/// Catalogs the Go build info `info` (the bytes from its magic on) of the
/// binary `path`: the standard library at the toolchain's version (`stdlib`, as
/// other SBOM tools name it), the main module and every dependency. A module
/// replaced by another module (`=>`) is listed as its replacement's path and
/// version.
pub(super) fn catalog(info: &[u8], path: &str, found: &mut Found) {
    match parse(info) {
        Ok((version, modules)) => add(&version, &modules, path, found),
        Err(err) => found.warn(format!("{path}: Go build info: {err}")),
    }
}

/// The bytes from the build-info magic on (at most [`INFO_MAX`]), searched for
/// in the `size`-byte file `path` a chunk at a time: for binaries whose section
/// headers were stripped. `None` when there is none or the file is unreadable.
pub(super) fn scan(fs: &dyn RootFs, path: &str, size: u64) -> Option<Vec<u8>> {
    let overlap = MAGIC.len() as u64 - 1;
    let mut offset = 0;
    while offset < size {
        let chunk = fs.read_range(path, offset, SCAN_CHUNK).ok()?;
        if let Some(at) = chunk.windows(MAGIC.len()).position(|w| w == MAGIC) {
            return fs.read_range(path, offset + at as u64, INFO_MAX).ok();
        }
        if (chunk.len() as u64) <= overlap {
            return None;
        }
        offset += chunk.len() as u64 - overlap;
    }
    None
}

/// The Go version and the module-info text of a build-info blob.
fn parse(info: &[u8]) -> Result<(String, String), String> {
    let header = info.get(..HEADER_LEN).ok_or("truncated header")?;
    if header[15] & FLAG_VERSION_INLINE == 0 {
        return Err("unsupported format (built before Go 1.18); modules not listed".into());
    }
    let rest = &info[HEADER_LEN..];
    let (version, rest) = string(rest).ok_or("truncated Go version")?;
    let (modules, _) = string(rest).ok_or("truncated module info")?;
    // The module text is wrapped in two 16-byte sentinels (debug/buildinfo).
    let modules = if modules.len() >= 33 && modules[modules.len() - 17] == b'\n' {
        &modules[16..modules.len() - 16]
    } else {
        &[]
    };
    Ok((
        String::from_utf8_lossy(version).into_owned(),
        String::from_utf8_lossy(modules).into_owned(),
    ))
}

/// A varint-length-prefixed string and what follows it.
fn string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (mut len, mut shift, mut used) = (0u64, 0u32, 0usize);
    loop {
        let b = *bytes.get(used)?;
        used += 1;
        len |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let end = used.checked_add(usize::try_from(len).ok()?)?;
    Some((bytes.get(used..end)?, &bytes[end..]))
}

/// Records `stdlib` and the `mod`/`dep` lines of `modules`.
fn add(go_version: &str, modules: &str, path: &str, found: &mut Found) {
    // "go1.21.0 X:loopvar" → "1.21.0".
    let stdlib = go_version.split_whitespace().next().unwrap_or("");
    let stdlib = stdlib.strip_prefix("go").unwrap_or(stdlib);
    if !stdlib.is_empty() {
        found.add(Purl::new(Ecosystem::Go, "stdlib", stdlib), Vec::new(), path);
    }
    let mut listed: Vec<(String, String)> = Vec::new();
    for line in modules.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod" | "dep", module, version, ..] => {
                listed.push((module.to_string(), version.to_string()))
            }
            ["mod" | "dep", module] => listed.push((module.to_string(), String::new())),
            ["=>", module, version, ..] if !module.starts_with(['.', '/']) => {
                if let Some(last) = listed.last_mut() {
                    *last = (module.to_string(), version.to_string());
                }
            }
            _ => {}
        }
    }
    for (module, version) in &listed {
        let version = if version == "(devel)" { "" } else { version };
        let (namespace, name) = match module.rsplit_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, module.as_str()),
        };
        let mut purl = Purl::new(Ecosystem::Go, name, version);
        purl.namespace = namespace;
        found.add(purl, Vec::new(), path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_build_info_is_an_error() {
        let mut info = MAGIC.to_vec();
        info.extend([8, FLAG_VERSION_INLINE]);
        info.resize(HEADER_LEN, 0);
        info.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(parse(&info).is_err());
        info[15] = 0;
        assert!(parse(&info).unwrap_err().contains("before Go 1.18"));
    }
}
